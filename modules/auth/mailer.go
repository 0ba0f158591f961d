package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/events"
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

// mailJob is the payload of auth:send_email. It names the user, not the
// token: the job makes the token, so no live token ever sits in the outbox
// or in Redis.
type mailJob struct {
	Kind   string    `json:"kind"`
	UserID uuid.UUID `json:"user_id"`
}

func (s *Service) queueMail(ctx context.Context, tx sqlx.ExtContext, kind string, uid uuid.UUID) error {
	retries := 8
	_, err := s.pub.EnqueueTx(ctx, tx, SendEmailJob, 1, mailJob{Kind: kind, UserID: uid}, events.JobOptions{MaxRetry: &retries})
	return err
}

// queueMailNow queues a mail outside any other write (resend, reset request).
func (s *Service) queueMailNow(ctx context.Context, kind string, uid uuid.UUID) error {
	return s.queueMail(ctx, s.db, kind, uid)
}

// mailer builds and sends the module's mails through the platform's Sender.
type mailer struct {
	store    *store
	sender   mail.Sender
	settings *Settings
	from     string
	base     string
	log      *zap.Logger
	now      func() time.Time
}

func newMailer(st *store, s *Settings, cfg *config.Config, sender mail.Sender, log *zap.Logger) *mailer {
	return &mailer{store: st, sender: sender, settings: s, from: cfg.MailFrom,
		base: strings.TrimRight(cfg.PublicURL, "/"), log: log, now: time.Now}
}

// handle is the auth:send_email job: it makes a fresh token (a retry makes
// another; each stays valid until it expires or one is used) and sends it.
func (m *mailer) handle(ctx context.Context, t *asynq.Task) error {
	var job mailJob
	if _, err := jobs.Decode(t, &job); err != nil {
		return err
	}
	kind, ok := m.kinds()[job.Kind]
	if !ok {
		return fmt.Errorf("unknown mail kind %q: %w", job.Kind, asynq.SkipRetry)
	}
	u, err := m.store.userByID(ctx, job.UserID)
	if errors.Is(err, errNotFound) {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	if u.BannedAt != nil || (job.Kind == mailVerify && u.EmailVerifiedAt != nil) {
		return nil
	}
	token, hash := newOpaqueToken("")
	if err := m.store.addEmailToken(ctx, u.ID, job.Kind, hash, m.now().Add(kind.ttl)); err != nil {
		return err
	}
	return m.send(ctx, job.Kind, kind, u, token)
}

func (m *mailer) send(ctx context.Context, kindName string, kind mailKind, u *User, token string) error {
	msg := mail.Message{From: m.from, To: []string{u.Email}, Subject: kind.subject,
		Text: fmt.Sprintf(kind.text, u.Username, m.base+kind.path+"?token="+url.QueryEscape(token), human(kind.ttl))}
	id, err := m.sender.Send(ctx, msg)
	if err != nil {
		return fmt.Errorf("send %s mail to user %s: %w", kindName, u.ID, err)
	}
	m.log.Info("mail sent", zap.String("kind", kindName), zap.String("user_id", u.ID.String()),
		zap.String("message_id", id))
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
