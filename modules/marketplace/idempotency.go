package marketplace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/httpx"
)

// idempotencyLock is how long a request holds its key: past it, a request
// that died mid-way no longer blocks a retry, which resumes its order. It
// outlasts a request's handler timeout and provider call.
const idempotencyLock = time.Minute

// maxKeyLength bounds an Idempotency-Key (Stripe's limit).
const maxKeyLength = 255

// claim is what a request holding a key may do: make an order (OrderID
// nil), finish the one a dead request made, or answer a completed one.
type claim struct {
	UserID  uuid.UUID
	Key     string
	OrderID *uuid.UUID
	Done    bool
}

var (
	errKeyReused = httpx.NewError(http.StatusUnprocessableEntity, "idempotency_key_reused",
		"this Idempotency-Key was used with another body; use a new key for a new order")
	errKeyInFlight = httpx.Conflict("idempotency_key_in_flight",
		"a request with this Idempotency-Key is still in progress; retry once it has answered")
)

// checkKey refuses a missing or unusable Idempotency-Key.
func checkKey(key string) error {
	if key == "" {
		return httpx.BadRequest("idempotency_key_required", "POST /marketplace/orders needs an Idempotency-Key header (a UUID, for instance)")
	}
	if len(key) > maxKeyLength || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return httpx.BadRequest("bad_idempotency_key", "the Idempotency-Key must be 1 to 255 visible ASCII characters")
	}
	return nil
}

// requestHash identifies an order request by what it asks for: the set of
// products, in any order.
func requestHash(ids []uuid.UUID) []byte {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	for _, id := range sorted {
		h.Write(id[:])
	}
	return h.Sum(nil)
}

// claimKey takes user's key for a request of hash, or says why not: the
// same key with another body (422), or in flight (409).
func (s *store) claimKey(ctx context.Context, user uuid.UUID, key string, hash []byte, ttl time.Duration) (claim, error) {
	c := claim{UserID: user, Key: key}
	for range 3 {
		fresh, err := s.takeKey(ctx, user, key, hash, ttl)
		if err != nil || fresh {
			return c, err
		}
		var row struct {
			Hash      []byte     `db:"request_hash"`
			OrderID   *uuid.UUID `db:"order_id"`
			Completed bool       `db:"completed"`
			Locked    bool       `db:"locked"`
		}
		err = s.db.GetContext(ctx, &row, `SELECT request_hash, order_id, completed, locked_until > now() AS locked
			FROM marketplace_idempotency_keys WHERE user_id = $1 AND key = $2`, user, key)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released meanwhile: try to take it again
		}
		if err != nil {
			return c, fmt.Errorf("read idempotency key: %w", err)
		}
		switch {
		case !bytes.Equal(row.Hash, hash):
			return c, errKeyReused
		case row.Completed:
			c.OrderID, c.Done = row.OrderID, true
			return c, nil
		case row.Locked:
			return c, errKeyInFlight
		}
		c.OrderID = row.OrderID
		return c, s.resumeKey(ctx, user, key)
	}
	return c, errKeyInFlight
}

// takeKey inserts the key, or takes over one older than ttl; it reports
// whether the key is now this request's, fresh.
func (s *store) takeKey(ctx context.Context, user uuid.UUID, key string, hash []byte, ttl time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO marketplace_idempotency_keys (user_id, key, request_hash, locked_until)
		VALUES ($1, $2, $3, now() + make_interval(secs => $4)) ON CONFLICT DO NOTHING`, user, key, hash, idempotencyLock.Seconds())
	if err != nil {
		return false, fmt.Errorf("take idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	res, err = s.db.ExecContext(ctx, `UPDATE marketplace_idempotency_keys SET request_hash = $3, order_id = NULL, completed = false,
		locked_until = now() + make_interval(secs => $4), created_at = now()
		WHERE user_id = $1 AND key = $2 AND created_at < now() - make_interval(secs => $5)`,
		user, key, hash, idempotencyLock.Seconds(), ttl.Seconds())
	if err != nil {
		return false, fmt.Errorf("renew idempotency key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// resumeKey locks a key whose request died before completing, unless
// another retry took it first (409).
func (s *store) resumeKey(ctx context.Context, user uuid.UUID, key string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE marketplace_idempotency_keys SET locked_until = now() + make_interval(secs => $3)
		WHERE user_id = $1 AND key = $2 AND NOT completed AND locked_until <= now()`, user, key, idempotencyLock.Seconds())
	if err != nil {
		return fmt.Errorf("resume idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errKeyInFlight
	}
	return nil
}

// attachOrder records, in the order's transaction, which order the key made.
func (s *store) attachOrder(ctx context.Context, tx *sqlx.Tx, c claim, order uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `UPDATE marketplace_idempotency_keys SET order_id = $3 WHERE user_id = $1 AND key = $2`, c.UserID, c.Key, order)
	if err != nil {
		return fmt.Errorf("attach order to idempotency key: %w", err)
	}
	return nil
}

// completeKey marks the key answered: its order has its payment.
func (s *store) completeKey(ctx context.Context, tx *sqlx.Tx, c claim) error {
	_, err := tx.ExecContext(ctx, `UPDATE marketplace_idempotency_keys SET completed = true, locked_until = now() WHERE user_id = $1 AND key = $2`, c.UserID, c.Key)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// releaseKey gives the key back after a request that made nothing (a
// refused order): the same request may be sent again with it. A key whose
// order exists is only unlocked, so that a retry finishes that order.
func (s *store) releaseKey(ctx context.Context, c claim) error {
	ctx = context.WithoutCancel(ctx)
	_, err := s.db.ExecContext(ctx, `DELETE FROM marketplace_idempotency_keys WHERE user_id = $1 AND key = $2 AND order_id IS NULL AND NOT completed`, c.UserID, c.Key)
	if err == nil {
		_, err = s.db.ExecContext(ctx, `UPDATE marketplace_idempotency_keys SET locked_until = now() WHERE user_id = $1 AND key = $2 AND NOT completed`, c.UserID, c.Key)
	}
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
