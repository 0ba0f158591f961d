package audit_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/migrations"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/migrate"
	"github.com/veza/veza/platform/testkit"
)

// fixedCaller authenticates every token as the same user.
type fixedCaller struct{ id uuid.UUID }

func (f fixedCaller) Authenticate(context.Context, string) (*authn.Principal, error) {
	return &authn.Principal{UserID: f.id, Role: authn.RoleUser}, nil
}

// Every 403 of a module route is recorded, refused by a role check (with
// its caller) or written by the handler; other answers are not.
func TestRecordForbidden(t *testing.T) {
	pool := sqlx.MustOpen("postgres", testkit.NewDatabase(t))
	t.Cleanup(func() { pool.Close() })
	if err := migrate.NewRunner(pool, zap.NewNop()).Up(context.Background(), []migrate.Source{{Module: "platform", FS: migrations.FS}}); err != nil {
		t.Fatal(err)
	}
	caller := fixedCaller{id: uuid.New()}
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler(nil)})
	app.Use(httpx.RequestIDMiddleware())
	record := audit.RecordForbidden(pool, zap.NewNop())
	tag := func(p string) fiber.Handler { return httpx.Tag(&httpx.RouteInfo{Module: "notes", Pattern: p}) }
	app.Get("/admins", tag("/admins"), record, authn.Require(caller, authn.RoleAdmin), func(c *fiber.Ctx) error { return nil })
	app.Get("/page", tag("/page"), record, func(c *fiber.Ctx) error { return c.Status(403).SendString("no") })
	app.Get("/fine", tag("/fine"), record, func(c *fiber.Ctx) error { return c.SendString("ok") })
	for path, want := range map[string]int{"/admins": 403, "/page": 403, "/fine": 200} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer x")
		res, err := app.Test(req)
		if err != nil || res.StatusCode != want {
			t.Fatalf("GET %s: %v %v, want %d", path, err, res.StatusCode, want)
		}
	}
	var rows []struct {
		Actor  *uuid.UUID `db:"actor_id"`
		Module string     `db:"module"`
		Target string     `db:"target_id"`
		Code   *string    `db:"code"`
	}
	err := pool.Select(&rows, `SELECT actor_id, module, target_id, meta->>'code' AS code FROM audit_log
		WHERE action = $1 ORDER BY id`, audit.ActionForbidden)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Actor == nil || *rows[0].Actor != caller.id || rows[0].Target != "GET /admins" ||
		rows[0].Code == nil || *rows[0].Code != "forbidden" || rows[1].Target != "GET /page" || rows[1].Module != "notes" {
		t.Fatalf("recorded 403s: %+v", rows)
	}
}
