package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/modules/auth/authapi"
)

// updateUser applies set (a constant SET clause of this package, with $2...
// as args) to the user and returns the row as it now stands; updated_at
// moves forward as with every write.
func (s *store) updateUser(ctx context.Context, tx sqlx.QueryerContext, id uuid.UUID, set string, args ...any) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, tx, &u, `UPDATE users SET `+set+`, `+touched+` WHERE id = $1 RETURNING `+userColumns,
		append([]any{id}, args...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", id, err)
	}
	return &u, nil
}

// otherLiveAdmins counts the admins that are not banned, except id.
func (s *store) otherLiveAdmins(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM users WHERE role = 'admin' AND banned_at IS NULL AND id <> $1`, id)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}

// listUsers returns at most n users matching f, newest first, after the
// user after (nil: from the newest). Ids are UUIDv7, ordered by creation,
// so the primary key serves the order and the cursor. A search reads
// every row it has to: the admin area's lists are not a hot path.
func (s *store) listUsers(ctx context.Context, f authapi.AccountFilter, after *uuid.UUID, n int) ([]User, error) {
	var banned any
	if f.Banned != nil {
		banned = *f.Banned
	}
	var afterID any
	if after != nil {
		afterID = *after
	}
	var out []User
	err := s.db.SelectContext(ctx, &out, `SELECT `+userColumns+` FROM users
		WHERE ($1 = '' OR strpos(lower(username), lower($1)) > 0 OR strpos(email, lower($1)) > 0)
		  AND ($2 = '' OR role = $2)
		  AND ($3::boolean IS NULL OR (banned_at IS NOT NULL) = $3::boolean)
		  AND ($4::uuid IS NULL OR id < $4::uuid)
		ORDER BY id DESC
		LIMIT $5`, f.Query, f.Role, banned, afterID, n)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}
