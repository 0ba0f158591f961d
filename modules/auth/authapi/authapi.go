// Package authapi is what the auth module offers, besides the interfaces of
// platform/authn, to the modules that listen to it: the names and payload of
// its public events, and Accounts, the administration of accounts. A module
// never imports package auth; it subscribes to these events, or asks the
// interfaces auth exports.
//
//	r.Subscribe(authapi.EventUserUpdated, svc.onUserUpdated)
package authapi

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/platform/audit"
)

// The public events of the auth module, each with a UserEvent payload and
// the account as audience.
const (
	// EventUserRegistered: an account was created (its email is not
	// verified yet).
	EventUserRegistered = "user.registered"
	// EventUserVerified: an account's email address was verified.
	EventUserVerified = "user.verified"
	// EventPasswordChanged: an account's password was reset.
	EventPasswordChanged = "user.password_changed"
	// EventUserUpdated: an account's public profile (display name, avatar)
	// changed; or the account was banned, and the payload's Username,
	// DisplayName and AvatarURL are empty (a copy drops the profile); or it
	// was unbanned, and the payload holds the profile again.
	EventUserUpdated = "user.updated"
)

// UserEvent is the payload of every auth event: the account's public profile
// as of the change, so that another module can keep a copy of what it shows
// (a track's owner) from the events alone. It carries no email address:
// events reach webhooks.
type UserEvent struct {
	UserID      uuid.UUID `json:"user_id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name" doc:"empty when not set"`
	AvatarURL   string    `json:"avatar_url" doc:"an https URL, empty when not set"`
	// At is the account's updated_at as of the change. It increases with
	// every change of one account, so a copy kept from events ignores an
	// event whose At is not after the copy's: events may arrive out of order.
	At time.Time `json:"at"`
}

// The audit actions of auth that the admin area reads to tell suspicious
// activity: a login, a wrong password (its meta holds the email tried; its
// actor is the account when one has that email), and a login refused
// because the client address failed too often.
const (
	AuditLogin        = "auth.login"
	AuditLoginFailed  = "auth.login_failed"
	AuditLoginBlocked = "auth.login_blocked"
)

// Account is an account as the admin area sees it.
type Account struct {
	ID            uuid.UUID
	Username      string
	Email         string
	Role          string
	EmailVerified bool
	DisplayName   string
	// BannedAt is nil unless the account is banned; BanReason is then what
	// the admin gave, possibly empty.
	BannedAt  *time.Time
	BanReason string
	CreatedAt time.Time
	UpdatedAt time.Time
	// TokenVersion changes whenever the account's credentials are revoked:
	// a role change, a ban, a password reset, a logout everywhere. A
	// session kept outside auth (the job dashboard's) records it and ends
	// when it changes.
	TokenVersion int
}

// AccountFilter narrows ListAccounts; its zero value lists everyone.
type AccountFilter struct {
	// Query is part of the username or the email, in any case.
	Query string
	// Role is one of authn.Roles; "" for any.
	Role string
	// Banned, when set, keeps banned (true) or live (false) accounts.
	Banned *bool
}

// Accounts is the administration of accounts, which auth owns: the admin
// area lists and changes accounts through it, never through auth's tables.
// Errors that are answers (*httpx.Error) go to the client as they are: 404
// for an unknown account, 409 last_admin, 422 for a bad role or reason,
// and the login's own answers for CheckPassword. Every change is audited
// by auth in its own transaction, with actor and o.
type Accounts interface {
	// ListAccounts returns at most n accounts matching f, newest first,
	// after the account after (nil: from the newest).
	ListAccounts(ctx context.Context, f AccountFilter, after *uuid.UUID, n int) ([]Account, error)
	// Account returns the account id, or nil when there is none.
	Account(ctx context.Context, id uuid.UUID) (*Account, error)
	// SetRole gives the account role; its current tokens stop working at
	// once. Taking the admin role from the last live admin is refused.
	SetRole(ctx context.Context, actor, id uuid.UUID, role string, o audit.Origin) (*Account, error)
	// Ban bans the account (reason may be empty): its tokens are refused at
	// once on every process and its sessions end. Banning the last live
	// admin is refused; banning a banned account changes nothing.
	Ban(ctx context.Context, actor, id uuid.UUID, reason string, o audit.Origin) (*Account, error)
	// Unban lifts a ban; unbanning a live account changes nothing.
	Unban(ctx context.Context, actor, id uuid.UUID, o audit.Origin) (*Account, error)
	// CheckPassword checks an email and password exactly as a login does
	// (the same throttling of the client address, the same answers and
	// audit entries) without opening a session.
	CheckPassword(ctx context.Context, email, password string, o audit.Origin) (*Account, error)
}
