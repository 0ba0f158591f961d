package auth_test

import (
	"io"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
)

const strongPassword = "correct horse battery staple"

type env struct {
	*apptest.Server
	mailDir string
}

func start(t testing.TB, extra map[string]string) *env {
	t.Helper()
	mailDir := t.TempDir()
	vars := map[string]string{"MAIL_DRIVER": "dir", "MAIL_DIR": mailDir, "APP_PUBLIC_URL": "https://veza.test", "RATE_LIMIT_LIMIT": "100000"}
	for k, v := range extra {
		vars[k] = v
	}
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module()}, Env: vars})
	return &env{Server: srv, mailDir: mailDir}
}

type user struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Email         string `json:"email"`
	Role          string `json:"role"`
	EmailVerified bool   `json:"email_verified"`
	DisplayName   string `json:"display_name"`
	Bio           string `json:"bio"`
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	User         user   `json:"user"`
}

func (e *env) register(t testing.TB, username, email, pw string) user {
	t.Helper()
	var out struct {
		User                 user `json:"user"`
		VerificationRequired bool `json:"verification_required"`
	}
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": username, "email": email, "password": pw}).Status(t, 201).Data(t, &out)
	if !out.VerificationRequired || out.User.EmailVerified {
		t.Fatalf("register answer: %+v", out)
	}
	return out.User
}

var tokenLink = regexp.MustCompile(`https://veza\.test(/[a-z-]+)\?token=([A-Za-z0-9_\-]+)`)

// mailTo waits for a mail to address whose link goes to path and returns
// its token; with skip, it waits for skip+1 such mails and returns a token
// not among the first skip found (files written in the same second have no
// order).
func (e *env) mailTo(t testing.TB, address, path string, skip int, except ...string) string {
	t.Helper()
	var token string
	apptest.Eventually(t, 15*time.Second, "mail to "+address, func() bool {
		tokens := e.tokens(t, address, path)
		if len(tokens) <= skip {
			return false
		}
		for _, tk := range tokens {
			if !slices.Contains(except, tk) {
				token = tk
				return true
			}
		}
		return false
	})
	return token
}

// tokens lists the tokens of the mails to address whose link goes to path.
func (e *env) tokens(t testing.TB, address, path string) []string {
	t.Helper()
	var out []string
	for _, m := range e.mails(t) {
		if sub := tokenLink.FindStringSubmatch(m.body); m.to == address && sub != nil && sub[1] == path {
			out = append(out, sub[2])
		}
	}
	return out
}

type received struct {
	to, subject, body string
	header            mail.Header
}

func (e *env) mails(t testing.TB) []received {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.mailDir, "*.eml"))
	sort.Strings(files)
	var out []received
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // the dir driver's temporary file (".tmp-*.eml"), still being written
		}
		raw, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(raw)
		if err != nil {
			t.Fatalf("%s is not RFC 5322: %v", f, err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		to, _ := mail.ParseAddress(msg.Header.Get("To"))
		out = append(out, received{to: to.Address, subject: msg.Header.Get("Subject"), body: string(body), header: msg.Header})
	}
	return out
}

func (e *env) verify(t testing.TB, email string) {
	t.Helper()
	token := e.mailTo(t, email, "/verify-email", 0)
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": token}).Status(t, 200)
}

func (e *env) login(t testing.TB, email, pw string) tokens {
	t.Helper()
	var tk tokens
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}).Status(t, 200).Data(t, &tk)
	return tk
}

// account registers, verifies and logs in a user.
func (e *env) account(t testing.TB, username string) (user, tokens) {
	t.Helper()
	email := strings.ToLower(username) + "@example.com"
	u := e.register(t, username, email, strongPassword)
	e.verify(t, email)
	return u, e.login(t, email, strongPassword)
}

func bearer(tk tokens) []string { return []string{"Authorization", "Bearer " + tk.AccessToken} }

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Runtime.DB().Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
