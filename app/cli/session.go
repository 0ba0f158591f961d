package cli

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/log"
)

// session is what every command starts from: configuration, modules.yaml
// and the resolved plan.
type session struct {
	cfg  *config.Config
	file *app.ModulesFile
	plan *app.Plan
	log  *zap.Logger
}

// load reads the configuration (validated when strict: the commands that
// start things or touch the database), modules.yaml and the plan.
func (c *cmd) load(strict bool) (*session, error) {
	lookup, err := config.WithEnvFile(c.s.LookupEnv)
	if err != nil {
		return nil, err
	}
	opts := config.Options{LookupEnv: lookup}
	var cfg *config.Config
	if strict {
		cfg, err = config.Load(opts)
	} else {
		cfg, err = config.Read(opts)
	}
	if err != nil {
		return nil, err
	}
	path, named := c.modulesFlag, c.modulesFlag != ""
	if !named {
		if v, ok := lookup("VEZA_MODULES_FILE"); ok && v != "" {
			path, named = v, true
		} else {
			path = cfg.ModulesFile
		}
	}
	file, err := app.ReadModulesFile(path, named)
	if err != nil {
		return nil, err
	}
	plan, err := c.app.Plan(cfg.Env, file, lookup)
	if err != nil {
		return nil, err
	}
	logger, err := log.New(cfg)
	if err != nil {
		return nil, err
	}
	if file.Missing {
		logger.Warn("no modules file found; every module of this binary is enabled with its defaults", zap.String("looked_for", path))
	}
	return &session{cfg: cfg, file: file, plan: plan, log: logger}, nil
}

// build assembles a runtime for role without starting it.
func (c *cmd) build(s *session, role app.Role) (*app.Runtime, error) {
	return c.app.Build(app.BuildOptions{Config: s.cfg, Plan: s.plan, Role: role, Logger: s.log})
}

// stopWithin stops rt within the configured shutdown timeout.
func stopWithin(rt *app.Runtime, s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout+5*time.Second)
	defer cancel()
	if err := rt.Stop(ctx); err != nil {
		s.log.Warn("stop", zap.Error(err))
	}
}

func (c *cmd) version(args []string) error {
	if err := c.parse(newFlags("version"), args); err != nil {
		return err
	}
	fmt.Fprintln(c.s.Out, "veza", versionString())
	return nil
}
