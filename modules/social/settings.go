package social

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/veza/veza/platform/config"
)

// Settings of the social module (modules.social.settings in modules.yaml,
// each also VEZA_SOCIAL_<SETTING>).
type Settings struct {
	// ChatJWTSecret signs the chat tokens of POST /chat/token (HS256).
	// Empty: JWT_SECRET signs them; either way their audience (veza-chat)
	// keeps the API from taking them for access tokens.
	ChatJWTSecret string `yaml:"chat_jwt_secret" env:"CHAT_JWT_SECRET"`
	// ChatWSURL is the chat server's WebSocket address, handed to clients
	// with their token.
	ChatWSURL string `yaml:"chat_ws_url" env:"CHAT_WS_URL"`
	// CommentsPerWindow is how many comments one user may post per
	// CommentWindow (a sliding window shared by every API process through
	// Redis); past it, 429 with Retry-After.
	CommentsPerWindow int           `yaml:"comments_per_window"`
	CommentWindow     time.Duration `yaml:"comment_window"`
}

// minChatSecret is the shortest chat secret accepted, as for JWT_SECRET.
const minChatSecret = 32

func defaultSettings() any {
	return &Settings{ChatWSURL: "ws://localhost:8081/ws", CommentsPerWindow: 20, CommentWindow: time.Minute}
}

// Validate refuses settings that cannot work, each message naming the fix.
func (s *Settings) Validate(env config.Env) error {
	if s.ChatJWTSecret != "" && len(s.ChatJWTSecret) < minChatSecret {
		return fmt.Errorf("chat_jwt_secret must be at least %d characters (it has %d); fix: set CHAT_JWT_SECRET to the output of `openssl rand -base64 48`, or unset it to sign with JWT_SECRET",
			minChatSecret, len(s.ChatJWTSecret))
	}
	u, err := url.Parse(s.ChatWSURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("chat_ws_url %q must be a ws:// or wss:// URL; fix: set modules.social.settings.chat_ws_url or CHAT_WS_URL (\"wss://chat.example.com/ws\")", s.ChatWSURL)
	}
	if u.Scheme == "ws" && (env == config.Production || env == config.Staging) && !isLocalHost(u.Hostname()) {
		return fmt.Errorf("chat_ws_url %q sends chat tokens unencrypted; fix: use a wss:// URL in %s", s.ChatWSURL, env)
	}
	if s.CommentsPerWindow < 1 {
		return errors.New("comments_per_window must be at least 1; fix: set modules.social.settings.comments_per_window or VEZA_SOCIAL_COMMENTS_PER_WINDOW (20)")
	}
	if s.CommentWindow < time.Second || s.CommentWindow > 24*time.Hour {
		return errors.New("comment_window must be between 1s and 24h; fix: set modules.social.settings.comment_window or VEZA_SOCIAL_COMMENT_WINDOW (\"1m\")")
	}
	return nil
}

func isLocalHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }
