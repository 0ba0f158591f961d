package moduletest_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/config"

	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/test/fixtures/feed"
	"github.com/veza/veza/test/fixtures/notes"
)

func TestNotesKeepsTheContract(t *testing.T) {
	moduletest.Check(t, notes.Module())
}

func TestFeedKeepsTheContract(t *testing.T) {
	moduletest.Check(t, feed.Module(), moduletest.With(notes.Module()))
}

// The checks must be able to fail: each broken module below is checked in a
// child test process, which must fail for the stated reason.
func TestCatchesBrokenModules(t *testing.T) {
	cases := map[string]string{
		"TestBrokenDownMigration": "the down migrations leave the schema changed",
		"TestBrokenDefaults":      "default settings do not validate",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), "VEZA_MODULETEST_BROKEN=1")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("moduletest passed a broken module:\n%s", out)
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("failed, but not saying %q:\n%s", want, out)
			}
		})
	}
}

func broken() bool { return os.Getenv("VEZA_MODULETEST_BROKEN") != "" }

func TestBrokenDownMigration(t *testing.T) {
	if !broken() {
		return // run only as TestCatchesBrokenModules' child
	}
	moduletest.Check(t, app.Module{
		Name: "leaky", Description: "down forgets an index",
		Migrations: fstest.MapFS{
			"0001_t.up.sql":   {Data: []byte("CREATE TABLE leaky (id int); CREATE INDEX leaky_idx ON leaky (id); CREATE TABLE leaky_keep (id int);")},
			"0001_t.down.sql": {Data: []byte("DROP TABLE leaky;")},
		},
	})
}

type strictSettings struct {
	Key string `yaml:"key"`
}

func (s *strictSettings) Validate(config.Env) error {
	if s.Key == "" {
		return errors.New("key is required")
	}
	return nil
}

func TestBrokenDefaults(t *testing.T) {
	if !broken() {
		return
	}
	moduletest.Check(t, app.Module{
		Name: "strict", Description: "defaults fail",
		Settings: func() any { return &strictSettings{} },
		Register: func(*strictSettings) {},
	})
}
