package auth

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

type handler struct{ svc *Service }

// Request bodies.
type (
	registerBody struct {
		Username string `json:"username" validate:"required" doc:"3 to 30 letters, digits, _ or -"`
		Email    string `json:"email" validate:"required" doc:"an ASCII local part; an internationalised domain is stored in punycode"`
		Password string `json:"password" validate:"required" doc:"12 to 128 characters, not a common password"`
	}
	loginBody struct {
		Email    string `json:"email" validate:"required"`
		Password string `json:"password" validate:"required"`
		Device   string `json:"device,omitempty" doc:"a name for this session, shown in GET /auth/sessions"`
	}
	refreshBody struct {
		RefreshToken string `json:"refresh_token" validate:"required"`
	}
	logoutBody struct {
		RefreshToken string `json:"refresh_token,omitempty"`
		All          bool   `json:"all,omitempty"`
	}
	emailBody struct {
		Email string `json:"email" validate:"required"`
	}
	tokenBody struct {
		Token string `json:"token" doc:"the mailed token; or send it in X-Verify-Token and leave the body empty"`
	}
	resetBody struct {
		Token    string `json:"token" validate:"required"`
		Password string `json:"password" validate:"required" doc:"12 to 128 characters, not a common password"`
	}
	registered struct {
		User                 PrivateUser `json:"user"`
		VerificationRequired bool        `json:"verification_required"`
	}
)

func (h *handler) routes(r *app.Registrar) {
	r.Post("/auth/register", h.register, app.Summary("create an account"),
		app.Description("The email's local part must be ASCII (a mail server could not deliver to anything else); an internationalised domain is stored in punycode."),
		app.RequestBody(registerBody{}),
		app.Response(201, "the account; a verification mail is on its way", registered{}))
	r.Post("/auth/verify-email", h.verifyEmail, app.Summary("verify an email address with the mailed token"),
		app.RequestBody(tokenBody{}), app.Header("X-Verify-Token", "the token, instead of the body", false),
		app.Response(200, "the verified account", PrivateUser{}))
	r.Post("/auth/resend-verification", h.resendVerification, app.Summary("mail the verification link again"),
		app.Description("Does the same work whether or not the address has an account. An address receives at most mail_budget_per_address verification mails per mail_budget_window; further requests are accepted and mail nothing."),
		app.RequestBody(emailBody{}), app.Response(202, "accepted, whether or not the address has an account", struct{}{}))
	r.Post("/auth/login", h.login, app.Summary("log in"),
		app.Description("Failures refuse the client address that fails (429 with Retry-After), per account and in all, never the account itself; "+
			"failures on an account from many addresses slow down logins to it from addresses it has not signed in from."),
		app.RequestBody(loginBody{}), app.Response(200, "tokens", Tokens{}))
	r.Post("/auth/refresh", h.refresh, app.Summary("rotate a refresh token for a new pair"),
		app.RequestBody(refreshBody{}), app.Response(200, "tokens", Tokens{}))
	r.Post("/auth/logout", h.logout, app.Authenticated(), app.Summary("end this session, the session of a refresh token, or all"),
		app.RequestBody(logoutBody{}), app.Response(204, "done", nil))
	r.Get("/auth/me", h.me, app.Authenticated(), app.Summary("the caller's account"), app.Response(200, "the account", PrivateUser{}))
	r.Get("/auth/check-username", h.checkUsername, app.Summary("whether a username is free"),
		app.Query("username", "the username to check", true), app.Response(200, "availability", struct {
			Available bool `json:"available"`
		}{}))
	r.Post("/auth/password/reset-request", h.resetRequest, app.Summary("mail a password reset link"),
		app.Description("Does the same work whether or not the address has an account. An address receives at most mail_budget_per_address reset mails per mail_budget_window; further requests are accepted and mail nothing."),
		app.RequestBody(emailBody{}), app.Response(202, "accepted, whether or not the address has an account", struct{}{}))
	r.Post("/auth/password/reset", h.reset, app.Summary("set a new password with the mailed token; ends all sessions"),
		app.RequestBody(resetBody{}), app.Response(200, "done", struct{}{}))
	r.Get("/auth/sessions", h.sessions, app.Authenticated(), app.Summary("the caller's active sessions"),
		app.Response(200, "sessions", []SessionView{}))
	r.Delete("/auth/sessions/:id", h.endSession, app.Authenticated(), app.Summary("end one of the caller's sessions"),
		app.Response(204, "done", nil))
	r.Get("/users/:id", h.profile, app.Summary("a public profile, with its follow counts"), app.Response(200, "the profile", ProfileView{}))
	r.Get("/users/by-username/:username", h.profileByUsername, app.Summary("a public profile by username, with its follow counts"),
		app.Response(200, "the profile", ProfileView{}))
	r.Put("/users/:id", h.updateProfile, app.Authenticated(), app.Summary("update a profile (owner or admin)"),
		app.Description("Text fields refuse control, bidirectional and invisible characters; avatar_url must be an https URL on a public host, links http(s) URLs on public hosts."),
		app.RequestBody(ProfileInput{}), app.Response(200, "the profile", PrivateUser{}))
	r.Get("/users/:id/completion", h.completion, app.Authenticated(), app.Summary("profile completion (owner)"),
		app.Response(200, "completion", Completion{}))
}

func (h *handler) register(c *fiber.Ctx) error {
	var in registerBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	u, err := h.svc.Register(c.UserContext(), NewAccount{Username: in.Username, Email: in.Email, Password: in.Password}, audit.FromRequest(c))
	if err != nil {
		return err
	}
	return httpx.Created(c, registered{User: privateView(u), VerificationRequired: true})
}

func (h *handler) verifyEmail(c *fiber.Ctx) error {
	token := strings.TrimSpace(c.Get("X-Verify-Token"))
	if token == "" {
		var in tokenBody
		if err := httpx.Bind(c, &in); err != nil {
			return err
		}
		token = strings.TrimSpace(in.Token)
	}
	u, err := h.svc.VerifyEmail(c.UserContext(), token, audit.FromRequest(c))
	if err != nil {
		return err
	}
	return httpx.OK(c, privateView(u))
}

func (h *handler) resendVerification(c *fiber.Ctx) error {
	var in emailBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	if err := h.svc.ResendVerification(c.UserContext(), in.Email, audit.FromRequest(c)); err != nil {
		return err
	}
	return httpx.Accepted(c, fiber.Map{})
}

func (h *handler) login(c *fiber.Ctx) error {
	var in loginBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	t, err := h.svc.Login(c.UserContext(), in.Email, in.Password, in.Device, audit.FromRequest(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return httpx.OK(c, t)
}

func (h *handler) refresh(c *fiber.Ctx) error {
	var in refreshBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	t, err := h.svc.Refresh(c.UserContext(), strings.TrimSpace(in.RefreshToken), audit.FromRequest(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return httpx.OK(c, t)
}

func (h *handler) logout(c *fiber.Ctx) error {
	var in logoutBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	if err := h.svc.Logout(c.UserContext(), authn.FromCtx(c), strings.TrimSpace(in.RefreshToken), in.All, audit.FromRequest(c)); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) me(c *fiber.Ctx) error {
	u, err := h.svc.Me(c.UserContext(), authn.FromCtx(c))
	if err != nil {
		return err
	}
	return httpx.OK(c, privateView(u))
}

func (h *handler) checkUsername(c *fiber.Ctx) error {
	ok, err := h.svc.UsernameAvailable(c.UserContext(), c.Query("username"))
	if err != nil {
		return err
	}
	return httpx.OK(c, fiber.Map{"available": ok})
}

func (h *handler) resetRequest(c *fiber.Ctx) error {
	var in emailBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	if err := h.svc.RequestReset(c.UserContext(), in.Email, audit.FromRequest(c)); err != nil {
		return err
	}
	return httpx.Accepted(c, fiber.Map{})
}

func (h *handler) reset(c *fiber.Ctx) error {
	var in resetBody
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	if err := h.svc.ResetPassword(c.UserContext(), strings.TrimSpace(in.Token), in.Password, audit.FromRequest(c)); err != nil {
		return err
	}
	return httpx.OK(c, fiber.Map{})
}

func (h *handler) sessions(c *fiber.Ctx) error {
	p := authn.FromCtx(c)
	list, err := h.svc.Sessions(c.UserContext(), p)
	if err != nil {
		return err
	}
	out := make([]SessionView, len(list))
	for i, s := range list {
		out[i] = sessionView(s, p.SessionID)
	}
	return httpx.OK(c, out)
}

func (h *handler) endSession(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return httpx.NotFound("session not found")
	}
	if err := h.svc.EndSession(c.UserContext(), authn.FromCtx(c), id, "ended by user", audit.FromRequest(c)); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) profile(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return httpx.NotFound("user not found")
	}
	u, err := h.svc.Profile(c.UserContext(), id)
	if err != nil {
		return err
	}
	return h.profileAnswer(c, u)
}

func (h *handler) profileAnswer(c *fiber.Ctx, u *User) error {
	v, err := h.svc.profileView(c.UserContext(), u)
	if err != nil {
		return err
	}
	return httpx.OK(c, v)
}

func (h *handler) profileByUsername(c *fiber.Ctx) error {
	u, err := h.svc.ProfileByUsername(c.UserContext(), c.Params("username"))
	if err != nil {
		return err
	}
	return h.profileAnswer(c, u)
}

func (h *handler) updateProfile(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return httpx.NotFound("user not found")
	}
	var in ProfileInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	u, err := h.svc.UpdateProfile(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.OK(c, privateView(u))
}

func (h *handler) completion(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return httpx.NotFound("user not found")
	}
	comp, err := h.svc.ProfileCompletion(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.OK(c, comp)
}

func pathID(c *fiber.Ctx, name string) (uuid.UUID, error) {
	return uuid.Parse(c.Params(name))
}
