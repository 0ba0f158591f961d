package admin

import (
	"bytes"
	"embed"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

//go:embed pages/signin.html
var pagesFS embed.FS

var signInPage = template.Must(template.ParseFS(pagesFS, "pages/signin.html"))

// signInCSP allows the page's one style element and its empty icon (which
// spares a request for /favicon.ico) and nothing else to load; its form
// posts to this origin only.
func signInCSP(nonce string) string {
	return "default-src 'none'; style-src 'nonce-" + nonce + "'; img-src data:; form-action 'self'; " +
		"base-uri 'none'; frame-ancestors 'none'"
}

// signInView fills the sign-in page.
type signInView struct {
	Nonce, CSRF, Message, Email string
}

// signInPage answers status with the sign-in page, message on top (a
// failure, or why the page is shown), and a new CSRF token in the form and
// its cookie.
func (d *dashboard) signInPage(c *fiber.Ctx, status int, message, email string) error {
	csrf, nonce := randomToken(), randomToken()
	var body bytes.Buffer
	if err := signInPage.Execute(&body, signInView{Nonce: nonce, CSRF: csrf, Message: message, Email: email}); err != nil {
		return err
	}
	d.sessions.setCookie(c, csrfCookie, csrf)
	c.Set(fiber.HeaderContentSecurityPolicy, signInCSP(nonce))
	c.Set(fiber.HeaderReferrerPolicy, samePolicy)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body.Bytes())
}

// signIn checks the form's credentials through auth (its throttling and
// its audit of failures) and opens a session for an admin.
func (d *dashboard) signIn(c *fiber.Ctx) error {
	if !d.sameOrigin(c) || !csrfMatches(c) {
		return d.signInPage(c, fiber.StatusForbidden, "This form expired or was not sent from this page: sign in again.", "")
	}
	// Copies: Fiber reuses the request's bytes, and the login's guard may
	// keep the email (its per-process counts while Redis is down).
	email, pw := strings.Clone(c.FormValue("email")), strings.Clone(c.FormValue("password"))
	acc, err := d.accounts.CheckPassword(c.UserContext(), email, pw, audit.FromRequest(c))
	if err != nil {
		he := httpx.AsError(err)
		if he.Status >= 500 {
			return err
		}
		if he.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((he.RetryAfter+time.Second-1)/time.Second)))
		}
		return d.signInPage(c, he.Status, signInMessage(he), email)
	}
	origin := audit.FromRequest(c)
	entry := audit.Entry{ActorID: &acc.ID, Action: ActionSignIn, Module: Name, TargetType: "user", TargetID: acc.ID.String()}
	if acc.Role != authn.RoleAdmin {
		entry.Meta = map[string]any{"refused": "not an admin", "role": acc.Role}
		if err := audit.Write(c.UserContext(), d.pool, entry.With(origin)); err != nil {
			return err
		}
		return d.signInPage(c, fiber.StatusForbidden, "This account is not an admin: the job dashboard needs the admin role.", "")
	}
	token, err := d.sessions.open(c.UserContext(), acc)
	if err != nil {
		return err
	}
	entry.Success = true
	if err := audit.Write(c.UserContext(), d.pool, entry.With(origin)); err != nil {
		d.sessions.end(c.UserContext(), token)
		return err
	}
	d.sessions.setCookie(c, sessionCookie, token)
	d.sessions.clearCookie(c, csrfCookie)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(dashboardPath, fiber.StatusSeeOther)
}

// signInMessage says on the page why a sign-in failed.
func signInMessage(he *httpx.Error) string {
	switch he.Status {
	case fiber.StatusUnauthorized:
		return "The email or the password is wrong."
	case fiber.StatusUnprocessableEntity:
		return "Enter your email and your password."
	case fiber.StatusTooManyRequests:
		return "Too many failed sign-ins from this address: try again later."
	}
	return he.Message
}

// signOut ends the session and goes back to the sign-in page.
func (d *dashboard) signOut(c *fiber.Ctx) error {
	if !d.sameOrigin(c) {
		return httpx.Forbidden("bad_origin", "this request did not come from the dashboard's own pages")
	}
	acc, err := d.sessions.current(c)
	if err != nil {
		return err
	}
	if token := c.Cookies(sessionCookie); token != "" {
		d.sessions.end(c.UserContext(), token)
	}
	d.sessions.clearCookie(c, sessionCookie)
	if acc != nil {
		e := audit.Entry{ActorID: &acc.ID, Action: ActionSignOut, Module: Name, Success: true}.With(audit.FromRequest(c))
		if err := audit.Write(c.UserContext(), d.pool, e); err != nil {
			return err
		}
	}
	return c.Redirect(dashboardPath, fiber.StatusSeeOther)
}
