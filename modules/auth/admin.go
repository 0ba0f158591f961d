package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
)

// SetRole changes a user's role. It bumps the token version, so tokens that
// carry the old role stop working at once, and records who did it.
func (s *Service) SetRole(ctx context.Context, actor *uuid.UUID, userID uuid.UUID, role string, o audit.Origin) (*User, error) {
	if !validRole(role) {
		return nil, httpx.Invalid(httpx.FieldError{Field: "role", Message: "must be one of " + strings.Join(authn.Roles, ", ")})
	}
	var before string
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		u, err := s.store.userBy(ctx, tx, "id = $1 FOR UPDATE", userID)
		if err != nil {
			return err
		}
		before = u.Role
		if before == role {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $2, token_version = token_version + 1, `+touched+` WHERE id = $1`, userID, role); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{ActorID: actor, Action: "auth.role_changed", Module: "auth", Success: true,
			TargetType: "user", TargetID: userID.String(), Meta: map[string]any{"from": before, "to": role}}.With(o))
	})
	if errors.Is(err, errNotFound) {
		return nil, httpx.NotFound("user not found")
	}
	if err != nil {
		return nil, err
	}
	if before != role {
		s.auth.forgetUser(ctx, userID)
	}
	return s.store.userByID(ctx, userID)
}

// Exists implements authn.Users.
func (s *Service) Exists(ctx context.Context, id uuid.UUID) (bool, error) {
	u, err := s.store.userByID(ctx, id)
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.BannedAt == nil, nil
}
