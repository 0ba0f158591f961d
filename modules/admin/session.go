package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/httpx"
)

// The job dashboard's session: a random token in a cookie, its SHA-256 the
// key of a Redis entry naming the admin and the token version the session
// was opened with. Redis, not a signed cookie, so that signing out ends the
// session everywhere at once; the token version, so that a ban, a role
// change, a password reset or a logout everywhere ends it too.
const (
	sessionCookie = "veza_admin_session"
	// csrfCookie carries the sign-in form's token (double submit): the
	// form must send back the value of the cookie, which another site can
	// neither read nor set.
	csrfCookie = "veza_admin_csrf"
	// cookiePath scopes both cookies to the dashboard's pages: the API
	// under /api/v1 never receives them.
	cookiePath = "/admin"
	// sessionTTL is a session's whole life, not renewed by use: an admin
	// signs in again every 30 minutes.
	sessionTTL = 30 * time.Minute
	sessionKey = "veza:admin:dashboard:"
)

// session is what Redis holds of a dashboard session.
type session struct {
	UserID       uuid.UUID `json:"user_id"`
	TokenVersion int       `json:"token_version"`
	CreatedAt    time.Time `json:"created_at"`
}

// sessions keeps the dashboard's sessions.
type sessions struct {
	rdb      redis.UniversalClient
	accounts authapi.Accounts
	// secure marks the cookies Secure: production and staging are served
	// over HTTPS (HSTS is on there).
	secure bool
}

func newSessions(rdb redis.UniversalClient, accounts authapi.Accounts, cfg *config.Config) *sessions {
	return &sessions{rdb: rdb, accounts: accounts, secure: cfg.Env == config.Production || cfg.Env == config.Staging}
}

var errSessionStore = errors.New("the dashboard's sessions are kept in Redis, which did not answer")

// open starts a session for an admin and returns its token.
func (s *sessions) open(ctx context.Context, a *authapi.Account) (string, error) {
	token := randomToken()
	raw, err := json.Marshal(session{UserID: a.ID, TokenVersion: a.TokenVersion, CreatedAt: time.Now().UTC()})
	if err != nil {
		return "", fmt.Errorf("encode a dashboard session: %w", err)
	}
	if err := s.rdb.Set(ctx, keyOf(token), raw, sessionTTL).Err(); err != nil {
		return "", httpx.Unavailable("unavailable", errSessionStore.Error(), err)
	}
	return token, nil
}

// current returns the admin of the request's session, or nil when there is
// none: no cookie, an unknown or expired token, or an account that is no
// longer an admin as it was (banned, demoted, its tokens revoked), whose
// session is then ended.
func (s *sessions) current(c *fiber.Ctx) (*authapi.Account, error) {
	token := c.Cookies(sessionCookie)
	if token == "" {
		return nil, nil
	}
	ctx := c.UserContext()
	raw, err := s.rdb.Get(ctx, keyOf(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, httpx.Unavailable("unavailable", errSessionStore.Error(), err)
	}
	var ses session
	if err := json.Unmarshal(raw, &ses); err != nil {
		return nil, fmt.Errorf("decode a dashboard session: %w", err)
	}
	a, err := s.accounts.Account(ctx, ses.UserID)
	if err != nil {
		return nil, err
	}
	if a == nil || a.BannedAt != nil || a.Role != authn.RoleAdmin || a.TokenVersion != ses.TokenVersion {
		s.end(ctx, token)
		return nil, nil
	}
	return a, nil
}

// end forgets the session of token; a failure leaves it to expire.
func (s *sessions) end(ctx context.Context, token string) {
	_ = s.rdb.Del(context.WithoutCancel(ctx), keyOf(token)).Err()
}

// setCookie hands the session's token to the browser.
func (s *sessions) setCookie(c *fiber.Ctx, name, value string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: int(sessionTTL / time.Second),
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteStrictMode})
}

// clearCookie tells the browser to drop a cookie.
func (s *sessions) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Path: cookiePath, Expires: fasthttp.CookieExpireDelete,
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteStrictMode})
}

// csrfMatches reports whether the form's token is the csrf cookie's.
func csrfMatches(c *fiber.Ctx) bool {
	cookie, form := c.Cookies(csrfCookie), c.FormValue("csrf_token")
	return cookie != "" && subtle.ConstantTimeCompare([]byte(cookie), []byte(form)) == 1
}

func keyOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return sessionKey + hex.EncodeToString(sum[:])
}

// randomToken returns 32 random bytes, base64url: a session or CSRF token.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
