package social

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/httpx"
)

// The chat tokens: short-lived JWTs that the chat WebSocket server (not
// part of Veza) verifies with the same secret.
const (
	// ChatAudience is the aud of every chat token. The API's
	// authenticator requires its own audience (and issuer, session and
	// token id, which chat tokens do not carry), so a chat token is never
	// taken for an access token, even when both are signed with
	// JWT_SECRET.
	ChatAudience = "veza-chat"
	// ChatTokenTTL is a chat token's life: long enough to open the socket.
	ChatTokenTTL = 5 * time.Minute
)

// chatClaims are a chat token's claims: aud, sub, username, role, exp
// (and iat, jti).
type chatClaims struct {
	jwt.RegisteredClaims
	Username string `json:"username"`
	Role     string `json:"role"`
}

// chat issues chat tokens.
type chat struct {
	secret   []byte
	wsURL    string
	profiles authn.Profiles
	now      func() time.Time
}

// newChat signs with CHAT_JWT_SECRET, falling back to JWT_SECRET (which
// the platform's configuration has already checked).
func newChat(cfg *config.Config, s *Settings, profiles authn.Profiles) *chat {
	secret := s.ChatJWTSecret
	if secret == "" {
		secret = cfg.JWTSecret
	}
	return &chat{secret: []byte(secret), wsURL: s.ChatWSURL, profiles: profiles, now: time.Now}
}

// Token returns a chat token for p, carrying p's current username and role.
func (c *chat) Token(ctx context.Context, p *authn.Principal) (*ChatTokenView, error) {
	found, err := c.profiles.Profiles(ctx, []uuid.UUID{p.UserID})
	if err != nil {
		return nil, fmt.Errorf("read the profile of %s: %w", p.UserID, err)
	}
	profile, ok := found[p.UserID]
	if !ok { // banned or gone since the access token was checked
		return nil, httpx.Unauthorized("unauthorized", "this account cannot use the chat")
	}
	now := c.now()
	claims := chatClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.UserID.String(),
			Audience:  jwt.ClaimStrings{ChatAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ChatTokenTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Username: profile.Username,
		Role:     p.Role,
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(c.secret)
	if err != nil {
		return nil, fmt.Errorf("sign a chat token: %w", err)
	}
	return &ChatTokenView{Token: token, ExpiresIn: int(ChatTokenTTL / time.Second), WSURL: c.wsURL}, nil
}
