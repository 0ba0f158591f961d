package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// accounts implements authapi.Accounts over the service.
type accounts struct{ svc *Service }

func newAccounts(svc *Service) *accounts { return &accounts{svc: svc} }

// ListAccounts implements authapi.Accounts.
func (a *accounts) ListAccounts(ctx context.Context, f authapi.AccountFilter, after *uuid.UUID, n int) ([]authapi.Account, error) {
	f.Query = strings.TrimSpace(f.Query)
	if f.Role != "" && !validRole(f.Role) {
		return nil, httpx.BadRequest("bad_role", "role must be one of "+strings.Join(authn.Roles, ", "))
	}
	users, err := a.svc.store.listUsers(ctx, f, after, n)
	if err != nil {
		return nil, err
	}
	out := make([]authapi.Account, len(users))
	for i := range users {
		out[i] = account(&users[i])
	}
	return out, nil
}

// Account implements authapi.Accounts.
func (a *accounts) Account(ctx context.Context, id uuid.UUID) (*authapi.Account, error) {
	u, err := a.svc.store.userByID(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	return accountOf(u, err)
}

// SetRole implements authapi.Accounts.
func (a *accounts) SetRole(ctx context.Context, actor, id uuid.UUID, role string, o audit.Origin) (*authapi.Account, error) {
	return accountOf(a.svc.SetRole(ctx, &actor, id, role, o))
}

// Ban implements authapi.Accounts.
func (a *accounts) Ban(ctx context.Context, actor, id uuid.UUID, reason string, o audit.Origin) (*authapi.Account, error) {
	return accountOf(a.svc.Ban(ctx, &actor, id, reason, o))
}

// Unban implements authapi.Accounts.
func (a *accounts) Unban(ctx context.Context, actor, id uuid.UUID, o audit.Origin) (*authapi.Account, error) {
	return accountOf(a.svc.Unban(ctx, &actor, id, o))
}

// CheckPassword implements authapi.Accounts: a login without a session.
func (a *accounts) CheckPassword(ctx context.Context, email, password string, o audit.Origin) (*authapi.Account, error) {
	u, email, err := a.svc.checkCredentials(ctx, email, password, o)
	if err != nil {
		return nil, err
	}
	a.svc.guard.succeed(ctx, o.IP, email)
	return accountOf(u, nil)
}

func accountOf(u *User, err error) (*authapi.Account, error) {
	if err != nil {
		return nil, err
	}
	acc := account(u)
	return &acc, nil
}

func account(u *User) authapi.Account {
	acc := authapi.Account{ID: u.ID, Username: u.Username, Email: u.Email, Role: u.Role, EmailVerified: u.EmailVerifiedAt != nil,
		DisplayName: u.DisplayName, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), TokenVersion: u.TokenVersion}
	if u.BannedAt != nil {
		at := u.BannedAt.UTC()
		acc.BannedAt = &at
	}
	if u.BanReason != nil {
		acc.BanReason = *u.BanReason
	}
	return acc
}
