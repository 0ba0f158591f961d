// Package authn is the platform's view of who is calling: the Principal, the
// Authenticator interface the auth module implements, and the middleware that
// routes declared as authenticated go through. Modules depend on this
// package, never on the auth module's internals.
package authn

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/platform/httpx"
)

// Principal is the authenticated caller.
type Principal struct {
	UserID uuid.UUID
	Role   string
	// TokenID is the access token's jti, for audit.
	TokenID string
	// SessionID is the login session the token belongs to.
	SessionID uuid.UUID
}

// IsAdmin reports whether the caller has the admin role.
func (p *Principal) IsAdmin() bool { return p != nil && p.Role == RoleAdmin }

// The roles of API.md.
const (
	RoleUser     = "user"
	RoleCreator  = "creator"
	RoleArtist   = "artist"
	RoleProducer = "producer"
	RoleLabel    = "label"
	RolePremium  = "premium"
	RoleAdmin    = "admin"
)

// Roles lists every role.
var Roles = []string{RoleUser, RoleCreator, RoleArtist, RoleProducer, RoleLabel, RolePremium, RoleAdmin}

// Authenticator verifies a bearer token. Errors wrapping ErrInvalidToken
// answer 401; others are failures of ours.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*Principal, error)
}

// ErrInvalidToken is wrapped by Authenticator errors that mean "bad token".
var ErrInvalidToken = errors.New("invalid token")

const localPrincipal = "veza.principal"

// FromCtx returns the caller of an authenticated route, or nil.
func FromCtx(c *fiber.Ctx) *Principal {
	p, _ := c.Locals(localPrincipal).(*Principal)
	return p
}

// Require returns middleware admitting callers with a valid bearer token and,
// when roles are given, one of those roles (admin always passes).
func Require(a Authenticator, roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := authenticate(c, a)
		if err != nil {
			return err
		}
		// Known before the role check: a refusal is recorded with its caller.
		c.Locals(localPrincipal, p)
		if len(roles) > 0 && !p.IsAdmin() && !slices.Contains(roles, p.Role) {
			return httpx.Forbidden("forbidden", "this needs one of the roles: "+strings.Join(roles, ", "))
		}
		return c.Next()
	}
}

// Optional returns middleware that identifies the caller when a token is
// sent and lets anonymous callers through; a bad token is still 401.
func Optional(a Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Get(fiber.HeaderAuthorization) == "" {
			return c.Next()
		}
		p, err := authenticate(c, a)
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		return c.Next()
	}
}

func authenticate(c *fiber.Ctx, a Authenticator) (*Principal, error) {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, httpx.Unauthorized("unauthorized", "send Authorization: Bearer <access token>")
	}
	if a == nil {
		return nil, httpx.Unauthorized("unauthorized", "authentication is not enabled in this deployment")
	}
	p, err := a.Authenticate(c.UserContext(), strings.TrimSpace(token))
	if err != nil {
		var he *httpx.Error
		if errors.As(err, &he) {
			return nil, he
		}
		if errors.Is(err, ErrInvalidToken) {
			return nil, httpx.Unauthorized("invalid_token", "the access token is invalid or expired")
		}
		return nil, err
	}
	return p, nil
}

// RequireOwnerOrAdmin answers 403 unless p is owner or an admin: for
// resources everyone may see but only their owner may change.
func RequireOwnerOrAdmin(p *Principal, owner uuid.UUID) error {
	if p != nil && (p.UserID == owner || p.IsAdmin()) {
		return nil
	}
	return httpx.Forbidden("forbidden", "only the owner or an admin may do this")
}

// Users answers questions about accounts for modules that require auth but
// must not read its tables (a playlist's collaborator must exist).
type Users interface {
	// Exists reports whether id is a live (not banned) account.
	Exists(ctx context.Context, id uuid.UUID) (bool, error)
}

// Profile is what anyone may see of an account, in the shape other modules
// show next to what the account owns (a track's owner). DisplayName and
// AvatarURL are empty when not set.
type Profile struct {
	ID          uuid.UUID
	Username    string
	DisplayName string
	AvatarURL   string
	// UpdatedAt is the version of the profile: it increases with every
	// change of the account, and equals the At of the account's events, so
	// a copy kept from events and filled from here keeps the newer one.
	UpdatedAt time.Time
}

// MaxProfiles bounds the ids of one Profiles call.
const MaxProfiles = 1000

// Profiles reads public profiles in batches, for modules that keep a copy
// of them (built from auth's user.registered and user.updated events) and
// fill what the events did not bring: accounts older than the copy, a lost
// event.
type Profiles interface {
	// Profiles returns, by id, the profiles of those of ids (at most
	// MaxProfiles) that name a live account: unknown and banned accounts
	// are absent.
	Profiles(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Profile, error)
}
