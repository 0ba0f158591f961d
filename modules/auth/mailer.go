package auth

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/mail"
)

// SendEmailJob mails a verification or reset link.
const SendEmailJob = "auth:send_email"

// The purposes of mailed tokens (also the kinds of mail).
const (
	mailVerify = "verify_email"
	mailReset  = "reset_password"
)

// mailJob is the payload of auth:send_email. It names the user (a mail
// that registration promises) or only the address (a resend or reset
// request: version 2), never the token: the job derives the token
// (mailer.mailToken), so no live token ever sits in the outbox or in Redis.
type mailJob struct {
	Kind   string    `json:"kind"`
	UserID uuid.UUID `json:"user_id,omitzero"`
	// Email is the canonical address a request named; the job looks its
	// account up, so that the request does the same work whether or not
	// there is one.
	Email string `json:"email,omitempty"`
	// Origin is who asked, for the audit entry the job writes.
	Origin *mailOrigin `json:"origin,omitempty"`
}

type mailOrigin struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// mailJobVersion 2 added Email and Origin; version 1 tasks (UserID only)
// are still handled.
const mailJobVersion = 2

func (s *Service) queueMail(ctx context.Context, tx sqlx.ExtContext, job mailJob) error {
	return s.queue.EnqueueTx(ctx, tx, SendEmailJob, mailJobVersion, job, jobs.MaxRetry(8))
}

// mailer builds and sends the module's mails through the platform's Sender.
type mailer struct {
	store    *store
	sender   mail.Sender
	settings *Settings
	budget   *mailBudget
	from     string
	base     string
	// tokenKey derives the mailed tokens (see mailToken).
	tokenKey []byte
	log      *zap.Logger
	now      func() time.Time
}

func newMailer(st *store, s *Settings, cfg *config.Config, sender mail.Sender, budget *mailBudget, log *zap.Logger) (*mailer, error) {
	key, err := hkdf.Key(sha256.New, []byte(cfg.JWTSecret), nil, mailTokenLabel, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("derive the mail token key: %w", err)
	}
	return &mailer{store: st, sender: sender, settings: s, budget: budget, from: cfg.MailFrom,
		base: strings.TrimRight(cfg.PublicURL, "/"), tokenKey: key, log: log, now: time.Now}, nil
}

// mailTokenLabel separates the mail token key from every other use of
// JWT_SECRET. Changing it, or JWT_SECRET, leaves mailed links valid (their
// hashes are stored) but makes a retry in flight mail a second link.
const mailTokenLabel = "veza auth: mailed link tokens v1"

// mailToken is the token mailed by the attempt of task taskID.
//
// It is derived, not random, because asynq retries a task after a
// temporary failure (a 451, a timeout that may have followed a delivery):
// every attempt must mail the same link, and store the same hash, or the
// user collects several links and the table several live tokens. The task
// id is stable across retries (the outbox's row id), so the token is too,
// while no live token is ever written to the outbox or to Redis: without
// JWT_SECRET the task says nothing about it. A new request (resend, second
// reset) is a new task, hence a new token.
func (m *mailer) mailToken(kind string, userID uuid.UUID, taskID string) string {
	mac := hmac.New(sha256.New, m.tokenKey)
	mac.Write([]byte(kind + ":" + userID.String() + ":" + taskID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// handle is the auth:send_email job: it finds the account to mail, takes
// a place in the address's mail budget, stores the task's token (once: a
// retry finds it there) and mails its link. A permanent refusal (unknown
// recipient, invalid message) is not retried; anything else is, with the
// same link.
func (m *mailer) handle(ctx context.Context, t *asynq.Task) error {
	var job mailJob
	if _, err := jobs.Decode(t, &job); err != nil {
		return err
	}
	kind, ok := m.kinds()[job.Kind]
	if !ok {
		return fmt.Errorf("unknown mail kind %q: %w", job.Kind, asynq.SkipRetry)
	}
	taskID, ok := asynq.GetTaskID(ctx)
	if !ok {
		return fmt.Errorf("%s mail outside a task: no task id to derive its token from: %w", job.Kind, asynq.SkipRetry)
	}
	u, err := m.recipient(ctx, job)
	if err != nil || u == nil {
		return err
	}
	if !m.budget.take(ctx, job.Kind, u.Email, taskID) {
		m.log.Info("mail budget of the address spent; not sent", zap.String("kind", job.Kind),
			zap.String("user_id", u.ID.String()), zap.String("task_id", taskID))
		return nil
	}
	if err := m.audit(ctx, job, u); err != nil {
		return err
	}
	token := m.mailToken(job.Kind, u.ID, taskID)
	live, err := m.store.addEmailToken(ctx, u.ID, job.Kind, hashToken(token), m.now().Add(kind.ttl))
	if err != nil {
		return err
	}
	if !live {
		// An earlier attempt's link was used, or expired, meanwhile:
		// mailing it again would only send a dead link.
		return nil
	}
	return m.send(ctx, job.Kind, kind, u, token, taskID)
}

// recipient is the account a mail job is for, nil when there is none to
// mail: no account has the address (or the id) any more, it is banned, or a
// verification mail finds it verified.
func (m *mailer) recipient(ctx context.Context, job mailJob) (*User, error) {
	var (
		u   *User
		err error
	)
	if job.Email != "" {
		u, err = m.store.userByEmail(ctx, job.Email)
	} else {
		u, err = m.store.userByID(ctx, job.UserID)
	}
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s mail: find the account: %w", job.Kind, err)
	}
	if u.BannedAt != nil || (job.Kind == mailVerify && u.EmailVerifiedAt != nil) {
		return nil, nil
	}
	return u, nil
}

// audit records a reset request that found its account, on the task's
// first attempt only: the request itself cannot, without looking the
// account up where its timing shows.
func (m *mailer) audit(ctx context.Context, job mailJob, u *User) error {
	if job.Kind != mailReset || job.Email == "" {
		return nil
	}
	if n, ok := asynq.GetRetryCount(ctx); ok && n > 0 {
		return nil
	}
	e := audit.Entry{ActorID: &u.ID, Action: "auth.password_reset_requested", Module: "auth",
		TargetType: "user", TargetID: u.ID.String(), Success: true}
	if o := job.Origin; o != nil {
		e = e.With(audit.Origin{IP: o.IP, UserAgent: o.UserAgent, RequestID: o.RequestID})
	}
	return audit.Write(ctx, m.store.db, e)
}

func (m *mailer) send(ctx context.Context, kindName string, kind mailKind, u *User, token, taskID string) error {
	msg := mail.Message{From: m.from, To: []string{u.Email}, Subject: kind.subject,
		Text: fmt.Sprintf(kind.text, u.Username, m.base+kind.path+"?token="+url.QueryEscape(token), human(kind.ttl))}
	id, err := m.sender.Send(ctx, msg)
	if err != nil {
		err = fmt.Errorf("send %s mail to user %s: %w", kindName, u.ID, err)
		if mail.IsPermanent(err) {
			return fmt.Errorf("%w (permanent, not retried): %w", err, asynq.SkipRetry)
		}
		return err
	}
	m.log.Info("mail sent", zap.String("kind", kindName), zap.String("user_id", u.ID.String()),
		zap.String("task_id", taskID), zap.String("message_id", id))
	return nil
}

// mailKind is one kind of mail with a single-use link.
type mailKind struct {
	ttl           time.Duration
	path, subject string
	// text takes the username, the link and the link's lifetime.
	text string
}

func (m *mailer) kinds() map[string]mailKind {
	return map[string]mailKind{
		mailVerify: {ttl: m.settings.VerificationTTL, path: "/verify-email", subject: "Verify your email address",
			text: "Hello %s,\n\nwelcome to Veza. Confirm that this address is yours by opening this link:\n\n%s\n\n" +
				"The link works once, for %s. If you did not create an account, ignore this message.\n"},
		mailReset: {ttl: m.settings.ResetTTL, path: "/reset-password", subject: "Reset your password",
			text: "Hello %s,\n\nsomeone asked to reset the password of your Veza account. To choose a new one, open this link:\n\n%s\n\n" +
				"The link works once, for %s. If it was not you, ignore this message: your password stays as it is.\n"},
	}
}

func human(d time.Duration) string {
	if d%time.Hour == 0 {
		h := int(d / time.Hour)
		if h == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	return d.String()
}
