package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

func psql(t *testing.T, p *proc, query string) string {
	t.Helper()
	db, err := sqlx.Open("postgres", p.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out string
	if err := db.Get(&out, "SELECT ("+query+")::text"); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

func psqlExec(t *testing.T, p *proc, stmt string) {
	t.Helper()
	db, err := sqlx.Open("postgres", p.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

type status struct {
	Module  string `json:"module"`
	Version uint   `json:"version"`
	Latest  uint   `json:"latest"`
	Dirty   bool   `json:"dirty"`
}

func migrationStatus(t *testing.T, p *proc) map[string]status {
	t.Helper()
	r := p.run("migrate", "status", "--json")
	if r.code != 0 {
		t.Fatalf("migrate status: %s", r.stderr)
	}
	var list []status
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	out := map[string]status{}
	for _, s := range list {
		out[s.Module] = s
	}
	return out
}

func TestMigrateCommands(t *testing.T) {
	p := newProc(t, allButClash)
	p.env["MIGRATE_ON_START"] = "false"

	r := p.run("migrate", "plan")
	wantPlan := []string{"platform 1_outbox", "platform 2_audit_log", "platform 3_audit_append_only", "notes 1_notes", "notes 2_index", "feed 1_deliveries"}
	got := lines(r.stdout)
	if r.code != 0 || len(got) != len(wantPlan)+1 {
		t.Fatalf("plan: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for i, w := range wantPlan {
		if !strings.HasSuffix(got[i+1], w) {
			t.Fatalf("plan line %d = %q, want ...%q", i+1, got[i+1], w)
		}
	}

	if r := p.run("migrate", "up", "--module", "notes", "--steps", "1"); r.code != 0 {
		t.Fatalf("up notes 1 step: %s", r.stderr)
	}
	if st := migrationStatus(t, p); st["notes"].Version != 1 || st["platform"].Version != 0 {
		t.Fatalf("after one step of notes: %+v", st)
	}
	if r := p.run("migrate", "up"); r.code != 0 {
		t.Fatalf("up: %s", r.stderr)
	}
	st := migrationStatus(t, p)
	for _, m := range []string{"platform", "notes", "feed"} {
		if st[m].Version != st[m].Latest || st[m].Latest == 0 {
			t.Fatalf("after up, %s = %+v", m, st[m])
		}
	}
	if r := p.run("migrate", "plan"); !strings.Contains(r.stdout, "nothing to apply") {
		t.Fatalf("plan after up: %s", r.stdout)
	}

	r = p.run("migrate", "down", "--module", "notes")
	if r.code != 1 || !strings.Contains(r.stderr, "module feed requires notes and still has migrations applied (version 1); roll back feed first") {
		t.Fatalf("down notes while feed has tables: code %d %s", r.code, r.stderr)
	}
	if r := p.run("migrate", "down", "--module", "feed"); r.code != 0 {
		t.Fatalf("down feed: %s", r.stderr)
	}
	if got := psql(t, p, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'feed_deliveries'"); got != "0" {
		t.Fatal("feed's table survived its down migration")
	}
	if r := p.run("migrate", "down", "--module", "notes", "--steps", "1"); r.code != 0 {
		t.Fatalf("down notes 1 step: %s", r.stderr)
	}
	if st := migrationStatus(t, p); st["notes"].Version != 1 || st["feed"].Version != 0 {
		t.Fatalf("after rollbacks: %+v", st)
	}

	// A failed migration leaves the module dirty: every command says so,
	// serve refuses, and force is the way out.
	psqlExec(t, p, "UPDATE schema_migrations_notes SET dirty = true")
	r = p.run("migrate", "status")
	if !strings.Contains(r.stdout, "DIRTY") || !strings.Contains(r.stdout, "veza migrate force --module notes 0") {
		t.Fatalf("status of a dirty module:\n%s", r.stdout)
	}
	p.env["MIGRATE_ON_START"] = "true"
	r = p.run("serve")
	if r.code != 1 || !strings.Contains(r.stderr, "module notes is dirty at migration 1") {
		t.Fatalf("serve with a dirty schema: code %d %s", r.code, r.stderr)
	}
	if r := p.run("migrate", "force", "--module", "notes", "1"); r.code != 0 {
		t.Fatalf("force: %s", r.stderr)
	}
	if r := p.run("migrate", "up"); r.code != 0 {
		t.Fatalf("up after force: %s", r.stderr)
	}
	if st := migrationStatus(t, p); st["notes"].Version != 2 || st["notes"].Dirty || st["feed"].Version != 1 {
		t.Fatalf("after force and up: %+v", st)
	}

	for _, bad := range [][]string{{"migrate"}, {"migrate", "sideways"}, {"migrate", "force", "--module", "notes"}, {"migrate", "up", "--steps", "-1"}, {"migrate", "up", "--module", "nope"}} {
		if r := p.run(bad...); r.code != 2 {
			t.Errorf("%v: code %d (want 2, usage): %s", bad, r.code, r.stderr)
		}
	}
}

// Several processes migrating one database at once: all succeed, each
// migration runs once.
func TestConcurrentMigrateUp(t *testing.T) {
	p := newProc(t, allButClash)
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = p.run("migrate", "up")
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("process %d: code %d: %s", i, r.code, r.stderr)
		}
	}
	st := migrationStatus(t, p)
	if st["notes"].Version != 2 || st["feed"].Version != 1 || st["platform"].Version != 3 {
		t.Fatalf("after concurrent ups: %+v", st)
	}
}

func TestModulesListGraphRoutes(t *testing.T) {
	p := newProc(t, "modules:\n  notes: {enabled: true}\n  feed: {enabled: false}\n  tap: {enabled: false}\n  clash: {enabled: false}\n")
	if r := p.run("migrate", "up"); r.code != 0 {
		t.Fatalf("up: %s", r.stderr)
	}
	r := p.run("modules", "list", "--json")
	var mods []struct {
		Name             string   `json:"name"`
		Enabled          bool     `json:"enabled"`
		Requires         []string `json:"requires"`
		Routes           []string `json:"routes"`
		Jobs             []string `json:"jobs"`
		MigrationVersion *uint    `json:"migration_version"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &mods); err != nil || r.code != 0 {
		t.Fatalf("modules list --json: %v %s %s", err, r.stdout, r.stderr)
	}
	byName := map[string]int{}
	for i, m := range mods {
		byName[m.Name] = i
	}
	notes, feed := mods[byName["notes"]], mods[byName["feed"]]
	if !notes.Enabled || notes.MigrationVersion == nil || *notes.MigrationVersion != 2 ||
		fmt.Sprint(notes.Jobs) != "[notes:index notes:tick]" || len(notes.Routes) != 8 {
		t.Fatalf("notes = %+v", notes)
	}
	if feed.Enabled || fmt.Sprint(feed.Requires) != "[notes]" || feed.MigrationVersion == nil || *feed.MigrationVersion != 0 {
		t.Fatalf("feed = %+v", feed)
	}
	if r := p.run("modules", "list"); r.code != 0 || !strings.Contains(r.stdout, "notes") || !strings.Contains(r.stdout, "2/2") {
		t.Fatalf("modules list: %s", r.stdout)
	}

	r = p.run("modules", "graph")
	for _, want := range []string{"digraph veza {", `"feed" -> "notes";`, `"tap" -> "feed";`, `"feed" [style="rounded,dashed"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("graph lacks %s:\n%s", want, r.stdout)
		}
	}

	r = p.run("routes", "--json")
	var routes []struct{ Method, Path, Module string }
	if err := json.Unmarshal([]byte(r.stdout), &routes); err != nil {
		t.Fatalf("routes --json: %v %s", err, r.stdout)
	}
	seen := map[string]string{}
	for _, rt := range routes {
		seen[rt.Method+" "+rt.Path] = rt.Module
	}
	if seen["POST /api/v1/notes"] != "notes" || seen["GET /health"] != "platform" || seen["GET /readyz"] != "platform" {
		t.Fatalf("routes: %+v", routes)
	}
	if r := p.run("bogus"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "bogus"`) {
		t.Fatalf("unknown command: %d %s", r.code, r.stderr)
	}
	if r := p.run("version"); r.code != 0 || !strings.HasPrefix(r.stdout, "veza ") {
		t.Fatalf("version: %+v", r)
	}
}
