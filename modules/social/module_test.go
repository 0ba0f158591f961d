package social_test

import (
	"strings"
	"testing"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/social"
	"github.com/veza/veza/modules/tracks"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, social.Module(), moduletest.With(auth.Module(), tracks.Module()),
		moduletest.Env(map[string]string{"UPLOAD_DIR": t.TempDir(), "MAIL_DRIVER": "log"}))
}

// Settings are refused with a message that names the fix.
func TestSettingsRefused(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"VEZA_SOCIAL_CHAT_WS_URL", "http://chat.example.com/ws", "chat_ws_url"},
		{"CHAT_JWT_SECRET", "short", "chat_jwt_secret"},
		{"VEZA_SOCIAL_COMMENTS_PER_WINDOW", "0", "comments_per_window"},
		{"VEZA_SOCIAL_COMMENT_WINDOW", "10h", ""},
		{"VEZA_SOCIAL_COMMENT_WINDOW", "48h", "comment_window"},
	} {
		_, err := apptest.TryStart(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module(), social.Module()}, NoStart: true,
			Env: map[string]string{tc.name: tc.value, "UPLOAD_DIR": t.TempDir(), "MAIL_DRIVER": "log"}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s=%s refused: %v", tc.name, tc.value, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "fix:")):
			t.Errorf("%s=%s: %v, want a refusal naming %s and the fix", tc.name, tc.value, err, tc.want)
		}
	}
}
