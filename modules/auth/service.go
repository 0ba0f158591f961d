package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/modules/auth/password"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/jobs"
)

// Service holds the rules of accounts and sessions.
type Service struct {
	db       *sqlx.DB
	store    *store
	hasher   *password.Hasher
	policy   password.Policy
	tokens   *tokenIssuer
	auth     *Authenticator
	guard    *loginGuard
	pub      *events.Publisher
	queue    *jobs.Enqueuer
	settings *Settings
	log      *zap.Logger
	now      func() time.Time
}

func newService(pool *sqlx.DB, st *store, hasher *password.Hasher, tokens *tokenIssuer, a *Authenticator,
	guard *loginGuard, pub *events.Publisher, queue *jobs.Enqueuer, s *Settings, log *zap.Logger) *Service {
	return &Service{db: pool, store: st, hasher: hasher, policy: password.DefaultPolicy(), tokens: tokens, auth: a,
		guard: guard, pub: pub, queue: queue, settings: s, log: log, now: time.Now}
}

// Client errors of this module.
var (
	errInvalidCredentials = httpx.Unauthorized("invalid_credentials", "the email or the password is wrong")
	errNotVerified        = httpx.Forbidden("email_not_verified", "verify your email address first; POST /auth/resend-verification sends the link again")
	errBanned             = httpx.Forbidden("account_banned", "this account is banned")
	errInvalidRefresh     = httpx.Unauthorized("invalid_refresh_token", "the refresh token is invalid or expired; log in again")
	errRefreshReused      = httpx.Unauthorized("refresh_token_reused", "this refresh token was already used: the session has been ended for safety; log in again")
	errInvalidMailToken   = httpx.BadRequest("invalid_token", "the link is invalid, expired or already used; ask for a new one")
)

// hashErr turns a hashing failure into an answer: a full queue is 503 with
// Retry-After, not a failure of ours.
func hashErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		e := httpx.Unavailable("busy", "too many logins at once; try again in a moment", err)
		e.RetryAfter = time.Second
		return e
	}
	return err
}

// NewAccount is what registration and `veza user create` take.
type NewAccount struct {
	Username string
	Email    string
	Password string
	Role     string
	Verified bool
}

func (s *Service) checkAccount(in *NewAccount) error {
	in.Username = strings.TrimSpace(in.Username)
	var v httpx.Checker
	v.Check(validUsername(in.Username), "username", "must be 3 to 30 letters, digits, _ or -")
	email, problem := parseEmail(in.Email)
	v.Check(problem == "", "email", problem)
	in.Email = email
	if err := s.policy.Check(in.Password); err != nil {
		var p *password.Problem
		if errors.As(err, &p) {
			v.Add("password", p.Message)
		} else {
			v.Add("password", err.Error())
		}
	}
	if in.Role == "" {
		in.Role = authn.RoleUser
	}
	v.Check(validRole(in.Role), "role", "must be one of "+strings.Join(authn.Roles, ", "))
	return v.Err()
}

func validRole(r string) bool {
	for _, x := range authn.Roles {
		if r == x {
			return true
		}
	}
	return false
}

func conflictErr(err error) error {
	switch {
	case errors.Is(err, errEmailTaken):
		return httpx.Conflict("email_taken", "an account with this email exists", httpx.FieldError{Field: "email", Message: "is already registered"})
	case errors.Is(err, errUsernameTaken):
		return httpx.Conflict("username_taken", "this username is taken", httpx.FieldError{Field: "username", Message: "is already taken"})
	}
	return err
}

// Register creates an account and mails its verification link.
func (s *Service) Register(ctx context.Context, in NewAccount, o audit.Origin) (*User, error) {
	in.Role, in.Verified = authn.RoleUser, false
	return s.create(ctx, in, o, "auth.register")
}

// CreateAccount creates an account for an operator, with any role, verified
// or not, without mail.
func (s *Service) CreateAccount(ctx context.Context, in NewAccount) (*User, error) {
	return s.create(ctx, in, audit.Origin{}, "auth.user_created")
}

func (s *Service) create(ctx context.Context, in NewAccount, o audit.Origin, action string) (*User, error) {
	if err := s.checkAccount(&in); err != nil {
		return nil, err
	}
	if u, err := s.store.userByEmail(ctx, in.Email); err == nil && u != nil {
		return nil, conflictErr(errEmailTaken)
	}
	if taken, err := s.store.usernameTaken(ctx, in.Username); err != nil {
		return nil, err
	} else if taken {
		return nil, conflictErr(errUsernameTaken)
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, hashErr(err)
	}
	u := &User{ID: uuid.Must(uuid.NewV7()), Username: in.Username, Email: in.Email, PasswordHash: hash, Role: in.Role}
	if in.Verified {
		now := s.now().UTC()
		u.EmailVerifiedAt = &now
	}
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := s.store.createUser(ctx, tx, u); err != nil {
			return err
		}
		if _, err := s.pub.Publish(ctx, tx, EventUserRegistered, event(u), u.ID); err != nil {
			return err
		}
		if !in.Verified {
			if err := s.queueMail(ctx, tx, mailJob{Kind: mailVerify, UserID: u.ID}); err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx, audit.Entry{ActorID: &u.ID, Action: action, Module: "auth", TargetType: "user",
			TargetID: u.ID.String(), Success: true, Meta: map[string]any{"role": u.Role}}.With(o))
	})
	if err != nil {
		return nil, conflictErr(err)
	}
	return u, nil
}

// VerifyEmail spends a verification token.
func (s *Service) VerifyEmail(ctx context.Context, token string, o audit.Origin) (*User, error) {
	if token == "" {
		return nil, httpx.Invalid(httpx.FieldError{Field: "token", Message: "is required"})
	}
	var uid uuid.UUID
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if uid, err = s.store.useEmailToken(ctx, tx, hashToken(token), mailVerify); err != nil {
			return err
		}
		changed, err := s.store.markVerified(ctx, tx, uid)
		if err != nil || !changed {
			return err
		}
		u, err := s.store.userBy(ctx, tx, "id = $1", uid)
		if err != nil {
			return err
		}
		if _, err := s.pub.Publish(ctx, tx, EventUserVerified, event(u), u.ID); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{ActorID: &uid, Action: "auth.email_verified", Module: "auth",
			TargetType: "user", TargetID: uid.String(), Success: true}.With(o))
	})
	if errors.Is(err, errNotFound) {
		return nil, errInvalidMailToken
	}
	if err != nil {
		return nil, err
	}
	return s.store.userByID(ctx, uid)
}

// ResendVerification mails a new link when the address belongs to an
// unverified account; it says nothing either way.
func (s *Service) ResendVerification(ctx context.Context, email string, o audit.Origin) error {
	return s.requestMail(ctx, mailVerify, email, o)
}

// RequestReset mails a reset link when the address belongs to an account;
// it says nothing either way.
func (s *Service) RequestReset(ctx context.Context, email string, o audit.Origin) error {
	return s.requestMail(ctx, mailReset, email, o)
}

// requestMail queues the mail job of a resend or reset request. It does
// not look the account up: the job does, on a worker, so the request does
// the same work (one outbox row of the same shape) whether or not the
// address has an account, and its timing tells nothing. The job also
// applies the address's mail budget. Only the syntax of the address is
// judged here, which says nothing about accounts: an address that is no
// address is refused (422), a well-formed one that no account can have
// (a non-ASCII local part) is accepted and mails nothing, like an unknown
// one.
func (s *Service) requestMail(ctx context.Context, kind, raw string, o audit.Origin) error {
	if strings.TrimSpace(raw) == "" {
		return httpx.Invalid(httpx.FieldError{Field: "email", Message: "is required"})
	}
	email, problem := parseEmail(raw)
	switch problem {
	case "":
	case emailInvalid:
		return httpx.Invalid(httpx.FieldError{Field: "email", Message: problem})
	default:
		return nil
	}
	job := mailJob{Kind: kind, Email: email, Origin: &mailOrigin{IP: o.IP, UserAgent: o.UserAgent, RequestID: o.RequestID}}
	if err := s.queueMail(ctx, s.db, job); err != nil {
		return fmt.Errorf("queue the %s mail: %w", kind, err)
	}
	return nil
}

// ResetPassword spends a reset token, sets the new password, ends every
// session and revokes every access token.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string, o audit.Origin) error {
	var v httpx.Checker
	v.Check(token != "", "token", "is required")
	if err := s.policy.Check(newPassword); err != nil {
		var p *password.Problem
		if errors.As(err, &p) {
			v.Add("password", p.Message)
		} else {
			v.Add("password", err.Error())
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return hashErr(err)
	}
	var uid uuid.UUID
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if uid, err = s.store.useEmailToken(ctx, tx, hashToken(token), mailReset); err != nil {
			return err
		}
		if err := s.store.setPassword(ctx, tx, uid, hash); err != nil {
			return err
		}
		// The mail reached its owner: the address is proven.
		if _, err := s.store.markVerified(ctx, tx, uid); err != nil {
			return err
		}
		if err := s.store.revokeAllSessions(ctx, tx, uid, "password reset"); err != nil {
			return err
		}
		u, err := s.store.userBy(ctx, tx, "id = $1", uid)
		if err != nil {
			return err
		}
		if _, err := s.pub.Publish(ctx, tx, EventPasswordChanged, event(u), uid); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{ActorID: &uid, Action: "auth.password_reset", Module: "auth",
			TargetType: "user", TargetID: uid.String(), Success: true}.With(o))
	})
	if errors.Is(err, errNotFound) {
		return errInvalidMailToken
	}
	if err != nil {
		return err
	}
	s.auth.forgetUser(ctx, uid)
	return nil
}

// Tokens is the answer of login and refresh.
type Tokens struct {
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int         `json:"expires_in"`
	User         PrivateUser `json:"user"`
}

// Login checks credentials and opens a session.
func (s *Service) Login(ctx context.Context, email, pw, device string, o audit.Origin) (*Tokens, error) {
	u, email, err := s.checkCredentials(ctx, email, pw, o)
	if err != nil {
		return nil, err
	}
	refresh, hash := newOpaqueToken("vzr_")
	ses := &Session{ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Device: deviceName(device, o.UserAgent),
		UserAgent: o.UserAgent, ExpiresAt: s.now().Add(s.settings.RefreshTTL)}
	if o.IP != "" {
		ses.IP = &o.IP
	}
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := s.store.createSession(ctx, tx, ses, hash); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{ActorID: &u.ID, Action: authapi.AuditLogin, Module: "auth", Success: true,
			TargetType: "session", TargetID: ses.ID.String()}.With(o))
	})
	if err != nil {
		return nil, err
	}
	s.guard.succeed(ctx, o.IP, email)
	return s.tokensFor(u, ses.ID, refresh)
}

// checkCredentials is a login up to the session: the address's throttling
// and delay, the password, the ban and the verification, with failures
// counted and audited. It returns the account and the normalised email;
// the caller reports a success to the guard once it has done its part.
func (s *Service) checkCredentials(ctx context.Context, email, pw string, o audit.Origin) (*User, string, error) {
	email = normalizeEmail(email)
	var v httpx.Checker
	v.Check(email != "", "email", "is required")
	v.Check(pw != "", "password", "is required")
	v.Check(len(pw) <= 1024, "password", "is too long")
	if err := v.Err(); err != nil {
		return nil, email, err
	}
	verdict := s.guard.check(ctx, o.IP, email)
	if verdict.refusedFor > 0 {
		_ = audit.Write(ctx, s.db, audit.Entry{Action: authapi.AuditLoginBlocked, Module: "auth", Success: false,
			Meta: map[string]any{"email": email}}.With(o))
		return nil, email, httpx.TooManyRequests("too_many_attempts", "too many failed logins from this address; try again later", verdict.refusedFor)
	}
	if err := wait(ctx, verdict.delay); err != nil {
		return nil, email, fmt.Errorf("login: slowed down: %w", err)
	}
	u, err := s.store.userByEmail(ctx, email)
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, email, err
	}
	ok, rehash := false, false
	if u == nil {
		s.hasher.VerifyDummy(ctx, pw) // the same cost as a real check: timing says nothing
	} else if ok, rehash, err = s.hasher.Verify(ctx, pw, u.PasswordHash); err != nil {
		return nil, email, hashErr(err)
	}
	if !ok {
		return nil, email, s.loginFailed(ctx, u, email, o)
	}
	if u.BannedAt != nil {
		return nil, email, errBanned
	}
	if s.settings.RequireVerifiedEmail && u.EmailVerifiedAt == nil {
		return nil, email, errNotVerified
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.store.rehash(ctx, u.ID, u.PasswordHash, h); err != nil {
				s.log.Warn("password rehash", zap.Error(err))
			}
		}
	}
	return u, email, nil
}

// loginFailed counts and audits a wrong password (u nil: no such account)
// and returns the answer.
func (s *Service) loginFailed(ctx context.Context, u *User, email string, o audit.Origin) error {
	s.guard.fail(ctx, o.IP, email)
	var actor *uuid.UUID
	if u != nil {
		actor = &u.ID
	}
	if err := audit.Write(ctx, s.db, audit.Entry{ActorID: actor, Action: authapi.AuditLoginFailed, Module: "auth", Success: false,
		TargetType: "user", TargetID: idOf(u), Meta: map[string]any{"email": email}}.With(o)); err != nil {
		return err
	}
	return errInvalidCredentials
}

func idOf(u *User) string {
	if u == nil {
		return ""
	}
	return u.ID.String()
}

func deviceName(given, userAgent string) string {
	if d := strings.TrimSpace(given); d != "" {
		return truncate(d, 100)
	}
	return truncate(userAgent, 100)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func (s *Service) tokensFor(u *User, sid uuid.UUID, refresh string) (*Tokens, error) {
	access, err := s.tokens.issue(u, sid)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.settings.AccessTTL.Seconds()), User: privateView(u)}, nil
}

// Refresh rotates a refresh token. A token presented a second time means it
// leaked: the whole session (its token family) is ended (RFC 9700 4.14.2).
func (s *Service) Refresh(ctx context.Context, token string, o audit.Origin) (*Tokens, error) {
	if token == "" {
		return nil, httpx.Invalid(httpx.FieldError{Field: "refresh_token", Message: "is required"})
	}
	hash := hashToken(token)
	var (
		u        *User
		uid, sid uuid.UUID
		reused   bool
		refresh  string
	)
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		st, err := s.store.lockRefreshToken(ctx, tx, hash)
		if err != nil {
			return err
		}
		uid, sid = st.UserID, st.SessionID
		if st.Spent {
			reused = true
			if _, err := s.store.revokeSession(ctx, tx, st.UserID, st.SessionID, "refresh token reuse"); err != nil {
				return err
			}
			return audit.Write(ctx, tx, audit.Entry{ActorID: &st.UserID, Action: "auth.refresh_reuse", Module: "auth",
				Success: false, TargetType: "session", TargetID: st.SessionID.String()}.With(o))
		}
		if st.RevokedAt != nil || !st.ExpiresAt.After(s.now()) {
			return errNotFound
		}
		if u, err = s.store.userBy(ctx, tx, "id = $1", st.UserID); err != nil {
			return err
		}
		if u.BannedAt != nil {
			return errBanned
		}
		var newHash []byte
		refresh, newHash = newOpaqueToken("vzr_")
		if err := s.store.spendRefreshToken(ctx, tx, hash); err != nil {
			return err
		}
		if err := s.store.addRefreshToken(ctx, tx, st.SessionID, newHash); err != nil {
			return err
		}
		return s.store.touchSession(ctx, tx, st.SessionID, o.IP, s.now().Add(s.settings.RefreshTTL))
	})
	switch {
	case errors.Is(err, errNotFound):
		return nil, errInvalidRefresh
	case err != nil:
		return nil, err
	case reused:
		s.auth.forgetSession(ctx, uid, sid)
		return nil, errRefreshReused
	}
	return s.tokensFor(u, sid, refresh)
}

// Logout ends the caller's current session, the session of a given refresh
// token, or, with all, every session and every access token.
func (s *Service) Logout(ctx context.Context, p *authn.Principal, refreshToken string, all bool, o audit.Origin) error {
	if all {
		err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
			if err := s.store.revokeAllSessions(ctx, tx, p.UserID, "logout all"); err != nil {
				return err
			}
			if err := s.store.bumpTokenVersion(ctx, tx, p.UserID); err != nil {
				return err
			}
			return audit.Write(ctx, tx, audit.Entry{ActorID: &p.UserID, Action: "auth.logout_all", Module: "auth", Success: true}.With(o))
		})
		if err != nil {
			return err
		}
		s.auth.forgetUser(ctx, p.UserID)
		return nil
	}
	sid := p.SessionID
	if refreshToken != "" {
		if tsid, owner, err := s.store.sessionOfToken(ctx, hashToken(refreshToken)); err == nil && owner == p.UserID {
			sid = tsid
		}
	}
	return s.EndSession(ctx, p, sid, "logout", o)
}

// EndSession revokes one of the caller's sessions; another's is not found.
func (s *Service) EndSession(ctx context.Context, p *authn.Principal, sid uuid.UUID, reason string, o audit.Origin) error {
	var found bool
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if found, err = s.store.revokeSession(ctx, tx, p.UserID, sid, reason); err != nil || !found {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{ActorID: &p.UserID, Action: "auth.logout", Module: "auth", Success: true,
			TargetType: "session", TargetID: sid.String()}.With(o))
	})
	if err != nil {
		return err
	}
	if !found && reason != "logout" {
		return httpx.NotFound("session not found")
	}
	s.auth.forgetSession(ctx, p.UserID, sid)
	return nil
}

// Me returns the caller's own account.
func (s *Service) Me(ctx context.Context, p *authn.Principal) (*User, error) {
	u, err := s.store.userByID(ctx, p.UserID)
	if errors.Is(err, errNotFound) {
		return nil, httpx.Unauthorized("invalid_token", "the account no longer exists")
	}
	return u, err
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, p *authn.Principal) ([]Session, error) {
	return s.store.liveSessions(ctx, p.UserID)
}

// UsernameAvailable reports whether a valid username is free.
func (s *Service) UsernameAvailable(ctx context.Context, username string) (bool, error) {
	if !validUsername(username) {
		return false, httpx.Invalid(httpx.FieldError{Field: "username", Message: "must be 3 to 30 letters, digits, _ or -"})
	}
	taken, err := s.store.usernameTaken(ctx, username)
	return !taken, err
}
