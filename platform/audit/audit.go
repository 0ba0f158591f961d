// Package audit records security-relevant actions (sign-ups, logins, role
// changes...) in the audit_log table. Entries are written in the transaction
// of the action they record, so an action and its record commit together.
//
// The table is append-only: the database refuses UPDATE, DELETE and
// TRUNCATE (migrations/0003_audit_append_only), and Purge, run by
// `veza audit purge`, is the only way entries leave; it records itself.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// Entry is one audited action.
type Entry struct {
	// ActorID is who acted; nil for anonymous callers (a failed login).
	ActorID *uuid.UUID
	// Action is "<module>.<verb>", e.g. "auth.login_failed".
	Action     string
	Module     string
	TargetType string
	TargetID   string
	Success    bool
	// Origin of the request; FromRequest fills these.
	IP        string
	UserAgent string
	RequestID string
	// Meta holds details; never secrets.
	Meta map[string]any
}

// Origin carries the request facts an entry records.
type Origin struct {
	IP, UserAgent, RequestID string
}

// FromRequest copies the origin of a request (the strings outlive it).
func FromRequest(c *fiber.Ctx) Origin {
	return Origin{
		IP:        strings.Clone(c.IP()),
		UserAgent: strings.Clone(truncate(c.Get(fiber.HeaderUserAgent), 512)),
		RequestID: httpx.RequestID(c),
	}
}

// With returns e with the origin o.
func (e Entry) With(o Origin) Entry {
	e.IP, e.UserAgent, e.RequestID = o.IP, o.UserAgent, o.RequestID
	return e
}

// Write records e with db (a transaction or the pool).
func Write(ctx context.Context, db sqlx.ExtContext, e Entry) error {
	meta := []byte("{}")
	if len(e.Meta) > 0 {
		var err error
		if meta, err = json.Marshal(e.Meta); err != nil {
			return fmt.Errorf("audit %s: encode meta: %w", e.Action, err)
		}
	}
	var ip any
	if parsed := net.ParseIP(e.IP); parsed != nil {
		ip = parsed.String()
	}
	_, err := db.ExecContext(ctx, `
		INSERT INTO audit_log (actor_id, action, module, target_type, target_id, ip, user_agent, request_id, success, meta)
		VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), $6::inet, nullif($7, ''), nullif($8, ''), $9, $10)`,
		e.ActorID, e.Action, e.Module, e.TargetType, e.TargetID, ip, e.UserAgent, e.RequestID, e.Success, string(meta))
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ActionForbidden is the entry of a 403 answer: a caller refused a route
// (a role it lacks, a banned account, a resource that is not its own).
// Many of them from one actor or address are worth an admin's look.
const ActionForbidden = "platform.forbidden"

// RecordForbidden returns middleware that writes an ActionForbidden entry
// for every 403 the rest of the chain answers, whether returned as an error
// or written, naming the route's module and pattern and the caller when
// known. It sits on module routes only, after httpx.Tag; the per-client rate
// limit bounds how many rows a client can cause. A failure to write is
// logged and never changes the answer.
func RecordForbidden(pool sqlx.ExtContext, log *zap.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if !forbidden(c, err) {
			return err
		}
		ri := httpx.Route(c)
		e := Entry{Action: ActionForbidden, Module: ri.Module, TargetType: "route",
			TargetID: c.Method() + " " + ri.Pattern, Success: false}.With(FromRequest(c))
		if p := authn.FromCtx(c); p != nil {
			e.ActorID = &p.UserID
		}
		if he := httpx.AsError(err); err != nil {
			e.Meta = map[string]any{"code": he.Code}
		}
		// The request's own deadline may be what ended it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 2*time.Second)
		defer cancel()
		if werr := Write(ctx, pool, e); werr != nil {
			log.Warn("a 403 was not recorded in the audit log", zap.String("request_id", e.RequestID), zap.Error(werr))
		}
		return err
	}
}

// forbidden reports whether the answer is a 403: an error that becomes one,
// or a 403 written by the handler itself (a page).
func forbidden(c *fiber.Ctx, err error) bool {
	if err != nil {
		return httpx.AsError(err).Status == fiber.StatusForbidden
	}
	return c.Response().StatusCode() == fiber.StatusForbidden
}
