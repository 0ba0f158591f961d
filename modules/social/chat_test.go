package social_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type chatToken struct {
	Token     string `json:"token"`
	ExpiresIn int    `json:"expires_in"`
	WSURL     string `json:"ws_url"`
}

type chatClaims struct {
	jwt.RegisteredClaims
	Username string `json:"username"`
	Role     string `json:"role"`
}

// parseChat verifies a chat token as the chat server would.
func parseChat(t *testing.T, token, secret string) (*chatClaims, error) {
	t.Helper()
	var c chatClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("veza-chat"), jwt.WithExpirationRequired())
	return &c, err
}

// A chat token is a 5-minute HS256 JWT for the audience veza-chat with the
// caller's id, username and role, signed with JWT_SECRET unless
// CHAT_JWT_SECRET is set; the API refuses it as an access token.
func TestChatToken(t *testing.T) {
	e := start(t, nil)
	ann := e.user(t, "ann", "artist")
	var v chatToken
	e.Do(t, "POST", "/api/v1/chat/token", nil, as(ann)...).Status(t, 200).Data(t, &v)
	if v.ExpiresIn != 300 || v.WSURL != "ws://localhost:8081/ws" {
		t.Fatalf("answer %+v", v)
	}
	c, err := parseChat(t, v.Token, e.Config.JWTSecret)
	if err != nil {
		t.Fatalf("the chat server cannot verify the token: %v", err)
	}
	if c.Subject != ann.ID.String() || c.Username != "ann" || c.Role != "artist" ||
		time.Until(c.ExpiresAt.Time) > 5*time.Minute || time.Until(c.ExpiresAt.Time) < 4*time.Minute {
		t.Fatalf("claims %+v", c)
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+v.Token).ErrorCode(t, 401, "invalid_token")
	e.Do(t, "POST", "/api/v1/tracks/"+ann.ID.String()+"/like", nil, "Authorization", "Bearer "+v.Token).ErrorCode(t, 401, "invalid_token")
	e.Do(t, "POST", "/api/v1/chat/token", nil).ErrorCode(t, 401, "unauthorized")
}

// CHAT_JWT_SECRET, when set, signs the chat tokens instead of JWT_SECRET,
// and chat_ws_url is what clients are told to connect to.
func TestChatTokenOwnSecret(t *testing.T) {
	secret := "a chat secret of at least thirty-two characters"
	e := start(t, map[string]string{"CHAT_JWT_SECRET": secret, "CHAT_WS_URL": "wss://chat.example.com/ws"})
	ann := e.user(t, "ann", "user")
	var v chatToken
	e.Do(t, "POST", "/api/v1/chat/token", nil, as(ann)...).Status(t, 200).Data(t, &v)
	if v.WSURL != "wss://chat.example.com/ws" {
		t.Fatalf("ws_url %q", v.WSURL)
	}
	if _, err := parseChat(t, v.Token, secret); err != nil {
		t.Fatalf("not signed with CHAT_JWT_SECRET: %v", err)
	}
	if _, err := parseChat(t, v.Token, e.Config.JWTSecret); err == nil {
		t.Fatal("signed with JWT_SECRET although CHAT_JWT_SECRET is set")
	}
}
