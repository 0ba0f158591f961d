// Package auth is the accounts module: registration with email
// verification, login with short-lived JWT access tokens and rotating
// refresh tokens, password reset, sessions and public profiles. It provides
// the platform's authn.Authenticator, which every module's authenticated
// routes go through.
package auth

import (
	"embed"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/modules/auth/password"
	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Module returns the auth module.
func Module() app.Module {
	return app.Module{
		Name:        "auth",
		Description: "accounts, JWT sessions with rotating refresh tokens, email verification, password reset, profiles",
		Settings:    defaultSettings,
		Migrations:  migrations,
		Events:      eventTypes(),
		Provides: []any{
			newStore,
			newHasher,
			newTokens,
			newCounters,
			newLoginGuard,
			newMailBudget,
			newMailer,
			newService,
			newAuthenticator,
			newAccounts,
		},
		// What other modules may use of auth: who the caller is, whether
		// an account exists, public profiles in batches, and the
		// administration of accounts (the admin module). Its events are
		// named in package authapi.
		Exports: []any{
			func(a *Authenticator) authn.Authenticator { return a },
			func(s *Service) authn.Users { return s },
			func(s *Service) authn.Profiles { return s },
			func(a *accounts) authapi.Accounts { return a },
		},
		Register: register,
	}
}

func newHasher(s *Settings) *password.Hasher {
	return password.NewHasher(password.DefaultParams(), s.HashConcurrency)
}

func newTokens(cfg *config.Config, s *Settings) *tokenIssuer {
	return newTokenIssuer(cfg.JWTSecret, s.Issuer, s.Audience, s.AccessTTL)
}

// register contributes the module's routes, job and commands, the
// listener that applies other processes' token revocations to this
// process's cache (API processes only: workers authenticate nobody), and
// the subscriptions that keep profiles' follow counts.
func register(r *app.Registrar, svc *Service, a *Authenticator, m *mailer) {
	(&handler{svc: svc}).routes(r)
	r.Job(SendEmailJob, m.handle)
	r.Command("user create", "create an account: --email E --username U --password P [--role R] [--verified]", userCreate(svc))
	r.Command("user set-role", "change an account's role: --email E --role R", userSetRole(svc))
	r.Background("token-invalidation", a.listen, app.OnlyIn(app.RoleAPI))
	// Profiles' follow counts, from the social module's events.
	r.Subscribe(socialapi.EventUserFollowed, svc.onFollowEvent)
	r.Subscribe(socialapi.EventUserUnfollowed, svc.onFollowEvent)
	r.Subscribe(socialapi.EventUserCountsReconciled, svc.onUserCountsReconciled)
}
