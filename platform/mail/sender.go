package mail

import (
	"context"
	"errors"
	"fmt"

	gomail "github.com/wneessen/go-mail"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/config"
)

// Sender delivers a Message. It is all a module depends on, so the driver
// can change with MAIL_DRIVER without touching the module's code.
type Sender interface {
	// Send delivers m and returns its Message-ID (with angle brackets, as in
	// the header) so the caller can log and correlate it. When it fails,
	// IsPermanent tells whether sending the same message again can succeed.
	Send(ctx context.Context, m Message) (messageID string, err error)
}

// Driver names accepted in MAIL_DRIVER.
const (
	DriverSMTP = "smtp"
	DriverLog  = "log"
	DriverDir  = "dir"
)

// New returns the Sender that the platform configuration selects
// (MAIL_DRIVER and the MAIL_ and SMTP_ settings), refusing an unusable
// configuration at start-up rather than at the first mail. log receives the
// log driver's lines.
func New(cfg *config.Config, log *zap.Logger) (Sender, error) {
	if _, err := ParseAddress(cfg.MailFrom); err != nil {
		return nil, fmt.Errorf("mail: MAIL_FROM=%q is not a usable sender (%v); set it like \"Veza <no-reply@example.com>\"", cfg.MailFrom, err)
	}
	switch cfg.MailDriver {
	case DriverSMTP:
		sc, err := smtpConfigFrom(cfg)
		if err != nil {
			return nil, err
		}
		return NewSMTP(sc)
	case DriverLog:
		return NewLog(log), nil
	case DriverDir:
		return NewDir(cfg.MailDir)
	default:
		return nil, fmt.Errorf("mail: MAIL_DRIVER=%q is not a driver; set smtp, log or dir", cfg.MailDriver)
	}
}

// smtpConfigFrom maps the platform's SMTP_ settings onto SMTPConfig.
func smtpConfigFrom(cfg *config.Config) (SMTPConfig, error) {
	roots, err := cfg.SMTPRootCAs()
	if err != nil {
		return SMTPConfig{}, err
	}
	return SMTPConfig{
		Host:     cfg.SMTPHost,
		Port:     cfg.SMTPPort,
		Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword,
		Security: Security(cfg.SMTPSecurity()),
		RootCAs:  roots,
	}, nil
}

// IsPermanent reports whether sending the same message again cannot succeed:
// the message is invalid, or the server answered MAIL FROM, RCPT TO or DATA
// with a 5xx reply (unknown recipient, message refused). A job handler uses
// it to stop retrying (asynq.SkipRetry) instead of burning its retries.
//
// Connection, TLS and authentication failures are not permanent: the
// operator fixes them, after which a retry succeeds. That includes 530
// ("authentication required") at MAIL FROM, which is about the missing
// SMTP_USERNAME, not about the message.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return false
	}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts:
		return true // the message has no usable sender or recipient
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		code := se.ErrorCode()
		return code >= 500 && code < 600 && code != 530
	}
	return false
}
