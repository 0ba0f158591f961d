package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// store reads the platform's audit log. Entries are written by every
// module through platform/audit; the admin module only reads them (the
// table is append-only, and only `veza audit purge` removes entries).
type store struct{ db *sqlx.DB }

func newStore(db *sqlx.DB) *store { return &store{db: db} }

// entryRow is a row of audit_log.
type entryRow struct {
	ID         int64           `db:"id"`
	ActorID    *uuid.UUID      `db:"actor_id"`
	Action     string          `db:"action"`
	Module     string          `db:"module"`
	TargetType *string         `db:"target_type"`
	TargetID   *string         `db:"target_id"`
	IP         *string         `db:"ip"`
	UserAgent  *string         `db:"user_agent"`
	RequestID  *string         `db:"request_id"`
	Success    bool            `db:"success"`
	At         time.Time       `db:"at"`
	Meta       json.RawMessage `db:"meta"`
}

// entryKey is the sort key of the log, newest first: ids break ties of at,
// which is the time of the transaction that wrote the entry.
type entryKey struct {
	At time.Time `json:"t"`
	ID int64     `json:"i"`
}

// logFilter narrows the audit log; zero fields do not filter.
type logFilter struct {
	ActorID  *uuid.UUID
	Action   string
	Module   string
	From, To *time.Time
}

// entries returns at most n entries matching f after the key after.
// Unfilled conditions fold away when PostgreSQL plans the statement with
// its parameters, so each filter uses its index (at, actor, action).
func (s *store) entries(ctx context.Context, f logFilter, after *entryKey, n int) ([]entryRow, error) {
	var afterAt, afterID any
	if after != nil {
		afterAt, afterID = after.At, after.ID
	}
	var out []entryRow
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, actor_id, action, module, target_type, target_id, host(ip) AS ip, user_agent, request_id,
		       success, at, meta
		FROM audit_log
		WHERE ($1::uuid IS NULL OR actor_id = $1::uuid)
		  AND ($2 = '' OR action = $2)
		  AND ($3 = '' OR module = $3)
		  AND ($4::timestamptz IS NULL OR at >= $4::timestamptz)
		  AND ($5::timestamptz IS NULL OR at < $5::timestamptz)
		  AND ($6::timestamptz IS NULL OR (at, id) < ($6::timestamptz, $7::bigint))
		ORDER BY at DESC, id DESC
		LIMIT $8`, f.ActorID, f.Action, f.Module, f.From, f.To, afterAt, afterID, n)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}

// DayCount is how many entries of one action one day (UTC) holds.
type DayCount struct {
	Day    string `db:"day" json:"day" doc:"the day in UTC, YYYY-MM-DD"`
	Action string `db:"action" json:"action"`
	Count  int64  `db:"count" json:"count"`
}

// dayCounts counts the entries of [from, to) by day and action, newest day
// first, the most frequent action first within a day.
func (s *store) dayCounts(ctx context.Context, from, to time.Time, module, action string) ([]DayCount, error) {
	var out []DayCount
	err := s.db.SelectContext(ctx, &out, `
		SELECT to_char(date_trunc('day', at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, action, count(*) AS count
		FROM audit_log
		WHERE at >= $1 AND at < $2 AND ($3 = '' OR module = $3) AND ($4 = '' OR action = $4)
		GROUP BY 1, 2
		ORDER BY 1 DESC, 3 DESC, 2`, from, to, module, action)
	if err != nil {
		return nil, fmt.Errorf("count audit entries by day: %w", err)
	}
	return out, nil
}
