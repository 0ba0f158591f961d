package mail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"

	"go.uber.org/zap"
)

// Sender delivers a Message. It is the only thing the auth module depends on,
// so the driver can change with MAIL_DRIVER without touching the job code.
type Sender interface {
	// Send delivers m and returns its Message-ID (with angle brackets, as in
	// the header) so the caller can log and correlate it. Errors wrap
	// ErrInvalidMessage when the message itself is at fault; see IsPermanent.
	Send(ctx context.Context, m Message) (messageID string, err error)
}

// Driver names accepted in MAIL_DRIVER, so that settings validation and New
// agree on the spelling.
const (
	DriverSMTP = "smtp"
	DriverLog  = "log"
	DriverDir  = "dir"
)

// Config selects and configures a driver in one value, so the auth module
// can map its settings onto it and call New once at start-up.
type Config struct {
	// Driver is DriverSMTP, DriverLog or DriverDir (MAIL_DRIVER).
	Driver string
	// SMTP configures the smtp driver.
	SMTP SMTPConfig
	// Dir is the dir driver's directory; empty means DefaultDir.
	Dir string
}

// New returns the Sender for cfg.Driver, refusing an unknown driver or an
// unusable configuration at start-up rather than at the first mail.
func New(cfg Config, log *zap.Logger) (Sender, error) {
	switch cfg.Driver {
	case DriverSMTP:
		if err := cfg.SMTP.Validate(); err != nil {
			return nil, err
		}
		return NewSMTP(cfg.SMTP), nil
	case DriverLog:
		return NewLog(log), nil
	case DriverDir:
		return NewDir(cfg.Dir)
	default:
		return nil, fmt.Errorf("mail: unknown MAIL_DRIVER %q (want smtp, log or dir)", cfg.Driver)
	}
}

// envelopeError marks a reply to MAIL FROM, RCPT TO or DATA: the server's
// verdict on this message, as opposed to on the connection or credentials.
type envelopeError struct{ err error }

func (e *envelopeError) Error() string { return e.err.Error() }
func (e *envelopeError) Unwrap() error { return e.err }

// IsPermanent reports whether sending the same message again cannot succeed:
// the message is invalid, or the server answered MAIL FROM, RCPT TO or DATA
// with a 5xx reply (unknown recipient, message refused). A job handler uses
// it to stop retrying (asynq.SkipRetry) instead of burning its retries.
// Connection, TLS and authentication failures are not permanent: they are
// fixed by the operator, after which a retry succeeds.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var env *envelopeError
	var reply *textproto.Error
	return errors.As(err, &env) && errors.As(env.err, &reply) && reply.Code >= 500 && reply.Code < 600
}
