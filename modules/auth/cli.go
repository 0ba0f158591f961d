package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// userCreate is `veza user create`: accounts for operators and tests, admins
// included, without mail.
func userCreate(svc *Service) app.CommandFunc {
	return func(ctx context.Context, args []string, out io.Writer) error {
		fs := app.NewFlagSet("user create", "Create an account, an admin's included, without sending mail.", out)
		email := fs.String("email", "", "the account's email `ADDRESS` (required)")
		username := fs.String("username", "", "the account's `NAME` (required)")
		pw := fs.String("password", "", "the account's `PASSWORD` (required)")
		role := fs.String("role", "user", "the account's `ROLE`: "+strings.Join(authn.Roles, ", "))
		verified := fs.Bool("verified", false, "mark the email as verified")
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("user create: %w: %w", err, app.ErrUsage)
		}
		if *email == "" || *username == "" || *pw == "" || fs.NArg() > 0 {
			return fmt.Errorf("usage: veza user create --email E --username U --password P [--role R] [--verified]: %w", app.ErrUsage)
		}
		u, err := svc.CreateAccount(ctx, NewAccount{Username: *username, Email: *email, Password: *pw, Role: *role, Verified: *verified})
		if err != nil {
			return describe("user create", err)
		}
		fmt.Fprintf(out, "created user %s (%s, %s, role %s, verified %v)\n", u.ID, u.Username, u.Email, u.Role, u.EmailVerifiedAt != nil)
		return nil
	}
}

// describe turns an HTTP answer into a command-line error.
func describe(command string, err error) error {
	var he *httpx.Error
	if !errors.As(err, &he) {
		return err
	}
	msg := he.Message
	if len(he.Details) > 0 {
		parts := make([]string, len(he.Details))
		for i, d := range he.Details {
			parts[i] = d.Field + " " + d.Message
		}
		msg = strings.Join(parts, "; ")
	}
	return fmt.Errorf("%s: %s", command, msg)
}

// userSetRole is `veza user set-role --email E --role R`.
func userSetRole(svc *Service) app.CommandFunc {
	return func(ctx context.Context, args []string, out io.Writer) error {
		fs := app.NewFlagSet("user set-role", "Change an account's role; its current access tokens stop working at once.", out)
		email := fs.String("email", "", "the account's email `ADDRESS` (required)")
		role := fs.String("role", "", "the new `ROLE` (required): "+strings.Join(authn.Roles, ", "))
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("user set-role: %w: %w", err, app.ErrUsage)
		}
		if *email == "" || *role == "" || fs.NArg() > 0 {
			return fmt.Errorf("usage: veza user set-role --email E --role R: %w", app.ErrUsage)
		}
		u, err := svc.store.userByEmail(ctx, normalizeEmail(*email))
		if errors.Is(err, errNotFound) {
			return fmt.Errorf("user set-role: no account has the email %s", *email)
		}
		if err != nil {
			return err
		}
		u, err = svc.SetRole(ctx, nil, u.ID, *role, audit.Origin{})
		if err != nil {
			return describe("user set-role", err)
		}
		fmt.Fprintf(out, "user %s (%s) now has the role %s\n", u.ID, u.Username, u.Role)
		return nil
	}
}
