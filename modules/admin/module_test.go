package admin_test

import (
	"testing"

	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/modules/admin"
	"github.com/veza/veza/modules/auth"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, admin.Module(), moduletest.With(auth.Module()))
}
