package admin_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/admin"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/webhooks"
)

type moduleView struct {
	Name             string   `json:"name"`
	Enabled          bool     `json:"enabled"`
	Requires         []string `json:"requires"`
	Routes           []string `json:"routes"`
	Jobs             []string `json:"jobs"`
	Events           []string `json:"events"`
	MigrationVersion *uint    `json:"migration_version"`
	LatestMigration  uint     `json:"latest_migration"`
	Queue            *struct {
		Name     string `json:"name"`
		Archived int    `json:"archived"`
	} `json:"queue"`
	FailedJobs []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		State string `json:"state"`
		Error string `json:"error"`
	} `json:"failed_jobs"`
}

// GET /admin/modules lists every module of the binary with what it
// contributes, its migration version, and, when enabled, its queue and
// failed jobs.
func TestModulesView(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), admin.Module(), webhooks.Module()},
		ModulesYAML: "modules:\n  auth: {enabled: true}\n  admin: {enabled: true}\n  webhooks: {enabled: false}\n", Env: baseVars})
	e := &env{Server: srv}
	root := e.user(t, "root", "admin")
	// A task that fails for good: auth's mail job cannot read this payload
	// and gets no retry.
	client := asynq.NewClientFromRedisClient(srv.Runtime.Redis())
	if _, err := client.Enqueue(asynq.NewTask(auth.SendEmailJob, []byte("not json")), asynq.Queue("auth"), asynq.MaxRetry(0)); err != nil {
		t.Fatal(err)
	}
	var views []moduleView
	apptest.Eventually(t, 15*time.Second, "the failed task archived", func() bool {
		e.Do(t, "GET", "/api/v1/admin/modules", nil, root.bearer()...).Status(t, 200).Data(t, &views)
		return views[0].Queue != nil && views[0].Queue.Archived == 1
	})
	if names := []string{views[0].Name, views[1].Name, views[2].Name}; strings.Join(names, ",") != "auth,admin,webhooks" {
		t.Fatalf("order: %v", names)
	}
	a := views[0]
	if !a.Enabled || !slices.Contains(a.Routes, "POST /api/v1/auth/login") || !slices.Contains(a.Jobs, auth.SendEmailJob) ||
		!slices.Contains(a.Events, "user.updated") || a.MigrationVersion == nil || *a.MigrationVersion != a.LatestMigration || a.LatestMigration == 0 {
		t.Fatalf("auth: %+v", a)
	}
	if len(a.FailedJobs) != 1 || a.FailedJobs[0].Type != auth.SendEmailJob || a.FailedJobs[0].State != "archived" || a.FailedJobs[0].Error == "" {
		t.Fatalf("auth's failed jobs: %+v", a.FailedJobs)
	}
	ad := views[1]
	if !ad.Enabled || strings.Join(ad.Requires, ",") != "auth" || !slices.Contains(ad.Routes, "GET /admin/jobs") ||
		ad.Queue == nil || ad.Queue.Name != "admin" || ad.MigrationVersion != nil {
		t.Fatalf("admin: %+v", ad)
	}
	w := views[2]
	if w.Enabled || len(w.Routes) != 0 || w.Queue != nil || w.LatestMigration == 0 || w.MigrationVersion == nil || *w.MigrationVersion != 0 {
		t.Fatalf("disabled webhooks: %+v", w)
	}
}
