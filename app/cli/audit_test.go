package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/testkit"
)

// The audit log is append-only in the database: UPDATE, DELETE and
// TRUNCATE are refused whoever sends them, and `veza audit purge` is the
// only way entries leave, older ones only, leaving an entry of its own.
func TestAuditLogAppendOnlyAndPurge(t *testing.T) {
	url := testkit.NewDatabase(t)
	env := map[string]string{"APP_ENV": "test", "LOG_LEVEL": "error", "VEZA_CONFIG_DIR": t.TempDir(),
		"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0"}
	veza := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), app.New(), args, cli.Streams{Out: &out, Err: &errOut,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		return code, out.String(), errOut.String()
	}
	if code, _, errOut := veza("migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %s", errOut)
	}
	pool := sqlx.MustOpen("postgres", url)
	t.Cleanup(func() { pool.Close() })
	ctx := context.Background()
	pool.MustExec(`INSERT INTO audit_log (action, module, at) VALUES
		('test.old', 'test', '2020-01-01T00:00:00Z'), ('test.old', 'test', '2020-06-01T00:00:00Z'),
		('test.recent', 'test', now() - interval '1 day')`)

	for _, stmt := range []string{
		`UPDATE audit_log SET action = 'test.forged'`,
		`DELETE FROM audit_log WHERE action = 'test.old'`,
		`TRUNCATE audit_log`,
	} {
		_, err := pool.ExecContext(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "audit_log is append-only") {
			t.Errorf("%s: %v, want the append-only refusal", stmt, err)
		}
	}
	// Declaring a cut-off by hand lets through neither newer rows nor a
	// cut-off in the future.
	tx := pool.MustBegin()
	tx.MustExec(`SELECT set_config('veza.audit_purge_before', '2999-01-01T00:00:00Z', true)`)
	if _, err := tx.Exec(`DELETE FROM audit_log`); err == nil {
		t.Error("a future cut-off let every entry be deleted")
	}
	_ = tx.Rollback()

	code, out, errOut := veza("audit", "purge", "--before", "2021-01-01", "--dry-run")
	if code != 0 || !strings.Contains(out, "2 audit entries are older than 2021-01-01T00:00:00Z; nothing removed") {
		t.Fatalf("dry run: %d %q %q", code, out, errOut)
	}
	if code, _, errOut = veza("audit", "purge", "--before", "2999-01-01"); code != 1 || !strings.Contains(errOut, "must be in the past") {
		t.Fatalf("future cut-off: %d %q", code, errOut)
	}
	if code, _, errOut = veza("audit", "purge"); code != 2 || !strings.Contains(errOut, "needs --before DATE") {
		t.Fatalf("no cut-off: %d %q", code, errOut)
	}
	if code, _, errOut = veza("audit", "purge", "--before", "last week"); code != 2 || !strings.Contains(errOut, "not a date") {
		t.Fatalf("bad cut-off: %d %q", code, errOut)
	}
	code, out, errOut = veza("audit", "purge", "--before", "2021-01-01")
	if code != 0 || !strings.Contains(out, "removed 2 audit entries older than 2021-01-01T00:00:00Z") {
		t.Fatalf("purge: %d %q %q", code, out, errOut)
	}
	var left []string
	if err := pool.Select(&left, `SELECT action FROM audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(left, ",") != "test.recent,"+audit.ActionPurged {
		t.Fatalf("after the purge the log holds %v", left)
	}
	var meta struct {
		Deleted int64  `db:"deleted"`
		Before  string `db:"before"`
		Via     string `db:"via"`
	}
	err := pool.Get(&meta, `SELECT (meta->>'deleted')::bigint AS deleted, meta->>'before' AS before, meta->>'via' AS via
		FROM audit_log WHERE action = $1`, audit.ActionPurged)
	if err != nil || meta.Deleted != 2 || meta.Before != "2021-01-01T00:00:00Z" || meta.Via != "veza audit purge" {
		t.Fatalf("the purge's entry: %+v %v", meta, err)
	}
	if code, out, _ = veza("audit", "--help"); code != 0 || !strings.Contains(out, "purge") {
		t.Fatalf("audit --help: %d %q", code, out)
	}
}
