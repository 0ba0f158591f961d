package marketplace_test

import (
	"testing"

	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/marketplace"
	"github.com/veza/veza/modules/tracks"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, marketplace.Module(), moduletest.With(auth.Module(), tracks.Module()),
		moduletest.Env(map[string]string{"UPLOAD_DIR": t.TempDir(), "MAIL_DRIVER": "log"}))
}
