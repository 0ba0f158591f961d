package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/config"
)

// openapi is "veza openapi [--out FILE]": the document GET /openapi.json
// serves, written without a server so that CI and client generators can take
// it from the code. Building the modules connects to nothing.
func (c *cmd) openapi(_ context.Context, args []string) error {
	fs := newFlags("openapi")
	out := fs.String("out", "", "write the document to `FILE` instead of standard output")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return wrongUsage("openapi", fs, fmt.Errorf("openapi takes no arguments, got %q: %w", fs.Arg(0), app.ErrUsage))
	}
	s, err := c.load(false)
	if err != nil {
		return err
	}
	withPlaceholderURLs(s.cfg)
	rt, err := c.build(s, app.RoleAPI)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	body, err := rt.OpenAPIJSON()
	if err != nil {
		return err
	}
	if *out == "" {
		if _, err := c.s.Out.Write(body); err != nil {
			return fmt.Errorf("write the openapi document: %w", err)
		}
		return nil
	}
	return writeFile(*out, body)
}

// withPlaceholderURLs fills in an unset DATABASE_URL or REDIS_URL. Building
// the modules opens a database pool and a Redis client without connecting,
// and this command never uses them: it must run where neither is configured,
// such as a build step of a production image.
func withPlaceholderURLs(cfg *config.Config) {
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = "postgres://unused@127.0.0.1:1/unused?sslmode=disable"
	}
	if cfg.RedisURL == "" {
		cfg.RedisURL = "redis://127.0.0.1:1/0"
	}
}

// writeFile replaces path with body through a temporary file in the same
// folder, so that a reader never sees half a document.
func writeFile(path string, body []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the folder of %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
