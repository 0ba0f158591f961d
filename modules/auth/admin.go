package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
)

// adminsLock is the transaction-level advisory lock held by every change
// that may take the admin role from a live account (a role change, a ban):
// such changes run one at a time, so two admins demoting or banning each
// other at once cannot both pass the last-admin check.
const adminsLock int64 = 0x7665_7a61_6164_6d6e // "vezaadmn"

var (
	errUserNotFound = httpx.NotFound("user not found")
	errLastAdmin    = httpx.Conflict("last_admin", "this is the last admin: make another account admin first")
)

// maxBanReason bounds a ban's reason, in characters.
const maxBanReason = 500

// SetRole changes a user's role. It bumps the token version, so tokens that
// carry the old role stop working at once, and records who did it. Taking
// the role from the last live admin is refused (409).
func (s *Service) SetRole(ctx context.Context, actor *uuid.UUID, userID uuid.UUID, role string, o audit.Origin) (*User, error) {
	if !validRole(role) {
		return nil, httpx.Invalid(httpx.FieldError{Field: "role", Message: "must be one of " + strings.Join(authn.Roles, ", ")})
	}
	var before string
	saved, err := s.changeUser(ctx, userID, func(tx *sqlx.Tx, u *User) (*User, error) {
		before = u.Role
		if before == role {
			return u, nil
		}
		if before == authn.RoleAdmin && u.BannedAt == nil {
			if err := s.keepAnAdmin(ctx, tx, userID); err != nil {
				return nil, err
			}
		}
		saved, err := s.store.updateUser(ctx, tx, userID, `role = $2, token_version = token_version + 1`, role)
		if err != nil {
			return nil, err
		}
		return saved, audit.Write(ctx, tx, audit.Entry{ActorID: actor, Action: "auth.role_changed", Module: "auth", Success: true,
			TargetType: "user", TargetID: userID.String(), Meta: map[string]any{"from": before, "to": role}}.With(o))
	})
	if err != nil {
		return nil, err
	}
	if before != role {
		s.auth.forgetUser(ctx, userID)
	}
	return saved, nil
}

// Ban bans a user: its access tokens are refused at once on every process
// (token version bumped, caches told), its sessions end, and user.updated
// tells the modules keeping a copy of its profile to drop it. Banning the
// last live admin is refused (409); banning a banned account changes
// nothing.
func (s *Service) Ban(ctx context.Context, actor *uuid.UUID, userID uuid.UUID, reason string, o audit.Origin) (*User, error) {
	reason = strings.TrimSpace(reason)
	if problem := banReasonProblem(reason); problem != "" {
		return nil, httpx.Invalid(httpx.FieldError{Field: "reason", Message: problem})
	}
	changed := false
	saved, err := s.changeUser(ctx, userID, func(tx *sqlx.Tx, u *User) (*User, error) {
		if u.BannedAt != nil {
			return u, nil
		}
		if u.Role == authn.RoleAdmin {
			if err := s.keepAnAdmin(ctx, tx, userID); err != nil {
				return nil, err
			}
		}
		saved, err := s.store.updateUser(ctx, tx, userID,
			`banned_at = now(), ban_reason = nullif($2, ''), token_version = token_version + 1`, reason)
		if err != nil {
			return nil, err
		}
		if err := s.store.revokeAllSessions(ctx, tx, userID, "banned"); err != nil {
			return nil, err
		}
		changed = true
		return saved, s.recordBan(ctx, tx, actor, saved, "auth.banned", map[string]any{"reason": reason}, o)
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.auth.forgetUser(ctx, userID)
	}
	return saved, nil
}

// Unban lifts a ban: the account signs in again (its old tokens stay
// revoked) and user.updated brings its profile back to the modules' copies.
func (s *Service) Unban(ctx context.Context, actor *uuid.UUID, userID uuid.UUID, o audit.Origin) (*User, error) {
	changed := false
	saved, err := s.changeUser(ctx, userID, func(tx *sqlx.Tx, u *User) (*User, error) {
		if u.BannedAt == nil {
			return u, nil
		}
		saved, err := s.store.updateUser(ctx, tx, userID, `banned_at = NULL, ban_reason = NULL`)
		if err != nil {
			return nil, err
		}
		changed = true
		return saved, s.recordBan(ctx, tx, actor, saved, "auth.unbanned", nil, o)
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.auth.forgetUser(ctx, userID)
	}
	return saved, nil
}

// changeUser runs change on the user, locked, in a transaction that first
// takes adminsLock: every administrative change of an account is
// serialised with the others (they are rare), which keeps the last-admin
// check sound and takes the locks in one order (no deadlock).
func (s *Service) changeUser(ctx context.Context, userID uuid.UUID, change func(tx *sqlx.Tx, u *User) (*User, error)) (*User, error) {
	var saved *User
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, adminsLock); err != nil {
			return fmt.Errorf("lock account administration: %w", err)
		}
		u, err := s.store.userBy(ctx, tx, "id = $1 FOR UPDATE", userID)
		if err != nil {
			return err
		}
		saved, err = change(tx, u)
		return err
	})
	if errors.Is(err, errNotFound) {
		return nil, errUserNotFound
	}
	return saved, err
}

// keepAnAdmin refuses a change that would leave no live admin but userID.
// It runs under adminsLock: a statement here sees every change committed by
// the lock's previous holders.
func (s *Service) keepAnAdmin(ctx context.Context, tx *sqlx.Tx, userID uuid.UUID) error {
	n, err := s.store.otherLiveAdmins(ctx, tx, userID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errLastAdmin
	}
	return nil
}

// recordBan publishes user.updated for a ban or an unban and writes its
// audit entry. A ban's event carries no profile (username, display name and
// avatar empty): copies of the profile drop the account; an unban's carries
// the profile again.
func (s *Service) recordBan(ctx context.Context, tx *sqlx.Tx, actor *uuid.UUID, u *User, action string, meta map[string]any, o audit.Origin) error {
	ev := event(u)
	if u.BannedAt != nil {
		ev = UserEvent{UserID: u.ID, At: u.UpdatedAt.UTC()}
	}
	if _, err := s.pub.Publish(ctx, tx, EventUserUpdated, ev, u.ID); err != nil {
		return fmt.Errorf("publish %s of %s: %w", EventUserUpdated, u.ID, err)
	}
	return audit.Write(ctx, tx, audit.Entry{ActorID: actor, Action: action, Module: "auth", Success: true,
		TargetType: "user", TargetID: u.ID.String(), Meta: meta}.With(o))
}

// banReasonProblem says what is wrong with a ban's reason, "" when nothing.
func banReasonProblem(reason string) string {
	if runeLen(reason) > maxBanReason {
		return fmt.Sprintf("must be at most %d characters", maxBanReason)
	}
	return textProblem(reason, proseText)
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
