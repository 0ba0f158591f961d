package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/db"
)

// ActionPurged is the entry a purge leaves behind: who purged, the cut-off
// and how many entries went.
const ActionPurged = "platform.audit_purged"

// purgeSetting is the transaction-local setting that the audit_log trigger
// (migrations/0003_audit_append_only) reads: DELETE is refused unless it
// holds a cut-off in the past, and then only rows older than it may go.
const purgeSetting = "veza.audit_purge_before"

// ErrPurgeFuture refuses a cut-off that is not in the past: a purge removes
// history, never what is being written now.
var ErrPurgeFuture = errors.New("the cut-off must be in the past")

// Count returns how many entries are older than before (what Purge would
// remove).
func Count(ctx context.Context, q sqlx.QueryerContext, before time.Time) (int64, error) {
	var n int64
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM audit_log WHERE at < $1`, before); err != nil {
		return 0, fmt.Errorf("count audit entries before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}

// Purge removes the entries older than before, the only way entries leave
// the audit log, and records itself (ActionPurged, with e's actor and
// origin) in the same transaction, so that a purge is never silent. The
// database refuses every other DELETE: Purge declares its cut-off to the
// trigger for its own transaction only (set_config(..., true)).
func Purge(ctx context.Context, pool *sqlx.DB, before time.Time, e Entry) (int64, error) {
	if !before.Before(time.Now()) {
		return 0, ErrPurgeFuture
	}
	cutoff := before.UTC().Format(time.RFC3339Nano)
	var n int64
	err := db.WithTx(ctx, pool, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT set_config($1, $2, true)`, purgeSetting, cutoff); err != nil {
			return fmt.Errorf("declare the purge cut-off: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE at < $1`, before)
		if err != nil {
			return fmt.Errorf("delete audit entries before %s: %w", cutoff, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("count deleted audit entries: %w", err)
		}
		e.Action, e.Module, e.Success = ActionPurged, "platform", true
		e.TargetType, e.TargetID = "audit_log", ""
		if e.Meta == nil {
			e.Meta = map[string]any{}
		}
		e.Meta["before"], e.Meta["deleted"] = cutoff, n
		return Write(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
