package admin

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// UserView is an account as the admin area shows it.
type UserView struct {
	ID            uuid.UUID  `json:"id"`
	Username      string     `json:"username"`
	Email         string     `json:"email"`
	Role          string     `json:"role"`
	EmailVerified bool       `json:"email_verified"`
	DisplayName   string     `json:"display_name"`
	Status        string     `json:"status" doc:"active or banned"`
	BannedAt      *time.Time `json:"banned_at"`
	BanReason     *string    `json:"ban_reason" doc:"null unless banned; may be empty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func userView(a *authapi.Account) UserView {
	v := UserView{ID: a.ID, Username: a.Username, Email: a.Email, Role: a.Role, EmailVerified: a.EmailVerified,
		DisplayName: a.DisplayName, Status: "active", CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if a.BannedAt != nil {
		reason := a.BanReason
		v.Status, v.BannedAt, v.BanReason = "banned", a.BannedAt, &reason
	}
	return v
}

// Request bodies.
type (
	roleBody struct {
		Role string `json:"role" validate:"required" doc:"user, creator, artist, producer, label, premium or admin"`
	}
	banBody struct {
		Reason string `json:"reason,omitempty" doc:"why, for the audit log and other admins; at most 500 characters"`
	}
)

func (h *handler) userRoutes(r *app.Registrar, admin app.RouteOption) {
	r.Get("/admin/users", h.users, admin, app.Summary("accounts, newest first"),
		app.Query("q", "part of the username or the email, in any case", false),
		app.QueryEnum("role", "only accounts with this role", authn.Roles...),
		app.QueryEnum("status", "only active or only banned accounts", "active", "banned"),
		app.Paged(),
		app.Response(200, "a page of accounts", httpx.PageData[UserView]{}))
	r.Put("/admin/users/:id/role", h.setRole, admin, app.Summary("change an account's role; its tokens stop working at once"),
		app.Description("Taking the admin role from the last admin who is not banned is refused (409 last_admin); concurrent changes are serialised, so two admins cannot demote each other."),
		app.RequestBody(roleBody{}),
		app.Response(200, "the account", UserView{}),
		app.Response(404, "no account has this id", nil),
		app.Response(409, "last_admin: this is the last admin", nil),
		app.Response(422, "the role is not one of the roles", nil))
	r.Post("/admin/users/:id/ban", h.ban, admin, app.Summary("ban an account: its tokens are refused at once, its sessions end"),
		app.Description("Other modules drop the account's public profile (user.updated with an empty profile). Banning a banned account changes nothing; banning the last admin is refused (409 last_admin)."),
		app.RequestBody(banBody{}),
		app.Response(200, "the account", UserView{}),
		app.Response(404, "no account has this id", nil),
		app.Response(409, "last_admin: this is the last admin", nil))
	r.Post("/admin/users/:id/unban", h.unban, admin, app.Summary("lift a ban; the account signs in again"),
		app.Response(200, "the account", UserView{}),
		app.Response(404, "no account has this id", nil))
}

func (h *handler) users(c *fiber.Ctx) error {
	f := authapi.AccountFilter{Query: c.Query("q"), Role: c.Query("role")}
	switch c.Query("status") {
	case "":
	case "active", "banned":
		banned := c.Query("status") == "banned"
		f.Banned = &banned
	default:
		return httpx.BadRequest("bad_status", "status must be active or banned")
	}
	req, err := page.Read[uuid.UUID](c)
	if err != nil {
		return err
	}
	list, next, err := page.Fetch(c.UserContext(), req, func(ctx context.Context, after *uuid.UUID, n int) ([]authapi.Account, error) {
		return h.accounts.ListAccounts(ctx, f, after, n)
	}, func(a *authapi.Account) uuid.UUID { return a.ID })
	if err != nil {
		return err
	}
	out := make([]UserView, len(list))
	for i := range list {
		out[i] = userView(&list[i])
	}
	return httpx.Page(c, out, next)
}

// userID reads the :id of an account; one that is not a UUID names nobody.
func userID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, httpx.NotFound("user not found")
	}
	return id, nil
}

func (h *handler) setRole(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var in roleBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	return answer(c)(h.accounts.SetRole(c.UserContext(), authn.FromCtx(c).UserID, id, in.Role, audit.FromRequest(c)))
}

func (h *handler) ban(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	var in banBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	return answer(c)(h.accounts.Ban(c.UserContext(), authn.FromCtx(c).UserID, id, in.Reason, audit.FromRequest(c)))
}

func (h *handler) unban(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	return answer(c)(h.accounts.Unban(c.UserContext(), authn.FromCtx(c).UserID, id, audit.FromRequest(c)))
}

// answer sends an account, or the error of the call that returned it.
func answer(c *fiber.Ctx) func(*authapi.Account, error) error {
	return func(a *authapi.Account, err error) error {
		if err != nil {
			return err
		}
		return httpx.OK(c, userView(a))
	}
}
