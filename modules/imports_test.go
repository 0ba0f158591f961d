package modules_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/veza/veza/modules/"

// A module never imports another module's internals: what it may use of
// another is that module's <name>api package (tracksapi), plus interfaces
// of the platform. Tests may import other modules to assemble an app.
func TestModulesImportOnlyOthersAPIs(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		owner, _, nested := strings.Cut(filepath.ToSlash(path), "/")
		if !nested {
			return nil // modules.go lists the modules: it imports them all
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			rest, ok := strings.CutPrefix(p, modulePath)
			if !ok {
				continue
			}
			other, sub, _ := strings.Cut(rest, "/")
			if other != owner && sub != other+"api" {
				t.Errorf("%s imports %s: a module may use only another module's %sapi package", path, p, other)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
