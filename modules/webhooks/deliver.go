package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
)

// DeliverJob posts one delivery; asynq retries it on retry_schedule.
const DeliverJob = "webhooks:deliver"

// EndpointDisabledEvent tells an endpoint's owner it was turned off.
const EndpointDisabledEvent = "webhook.endpoint_disabled"

// maxResponse is how much of a receiver's answer is read.
const maxResponse = 64 << 10

// envelope is the JSON body of every delivery.
type envelope struct {
	ID        uuid.UUID       `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func eventBody(id uuid.UUID, typ string, at time.Time, data []byte) ([]byte, error) {
	if len(data) == 0 {
		data = []byte("{}")
	}
	b, err := json.Marshal(envelope{ID: id, Type: typ, Timestamp: at.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode delivery body: %w", err)
	}
	return b, nil
}

// deliverer fans events out to endpoints and posts deliveries.
type deliverer struct {
	db       *sqlx.DB
	store    *store
	svc      *Service
	settings *Settings
	client   *http.Client
	pub      *events.Publisher
	log      *zap.Logger
	now      func() time.Time
}

func newDeliverer(pool *sqlx.DB, st *store, svc *Service, s *Settings, pub *events.Publisher, log *zap.Logger) *deliverer {
	transport := &http.Transport{
		Proxy:                 nil, // never through a proxy: the SSRF check is on the dialled address
		DialContext:           newDialer(s.AllowPrivateTargets, 10*time.Second).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: s.Timeout,
		MaxIdleConns:          200,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   s.Timeout,
		// A redirect is the receiver's answer, not a place to go: following
		// it would let a public URL send the request inside the network.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &deliverer{db: pool, store: st, svc: svc, settings: s, client: client, pub: pub, log: log, now: time.Now}
}

// deliveryNS derives delivery ids: one per (endpoint, event), the same
// however often the event is handled, so the webhook-id is stable.
var deliveryNS = uuid.MustParse("8d2f5a0e-6c1b-4f7e-9a3d-5b7c0e1f2a4d")

func deliveryID(endpoint, event uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(deliveryNS, append(endpoint[:], event[:]...))
}

// onEvent queues one delivery per matching endpoint. It writes nothing to
// the database: the delivery's row is written with its first attempt, so a
// delivery costs one commit, not two. Handled twice, an event queues the
// same task ids (refused while pending) and a finished delivery is not sent
// again (its row says so).
func (d *deliverer) onEvent(ctx context.Context, ev events.Event) error {
	audience := make([]string, len(ev.Audience))
	for i, a := range ev.Audience {
		audience[i] = a.String()
	}
	endpoints, err := d.store.subscribers(ctx, d.db, ev.Type, audience)
	if err != nil || len(endpoints) == 0 {
		return err
	}
	body, err := eventBody(ev.ID, ev.Type, ev.CreatedAt, ev.Payload)
	if err != nil {
		return err
	}
	for _, e := range endpoints {
		row := &Delivery{ID: deliveryID(e.ID, ev.ID), EndpointID: e.ID, EventID: ev.ID, EventType: ev.Type, Body: string(body)}
		if err := d.svc.enqueue(ctx, row, ""); err != nil {
			return err
		}
	}
	return nil
}

// retryIn carries the wait before the next attempt from the handler to
// asynq's retry delay, so the recorded next_retry_at is the real one.
type retryIn struct {
	delay time.Duration
	cause string
}

func (r *retryIn) Error() string {
	return "delivery failed (" + r.cause + "), retry in " + r.delay.String()
}

// retryDelay is the job's asynq retry delay.
func retryDelay(n int, err error) time.Duration {
	var r *retryIn
	if errors.As(err, &r) {
		return r.delay
	}
	return time.Duration(min(n, 10)) * 10 * time.Second // an infrastructure failure (database down)
}

// result is what one POST got.
type result struct {
	code       int
	err        error
	latency    time.Duration
	retryAfter time.Duration
}

func (d *deliverer) handle(ctx context.Context, t *asynq.Task) error {
	var p deliverTask
	if _, err := jobs.Decode(t, &p); err != nil {
		return err
	}
	del := &Delivery{ID: p.DeliveryID, EndpointID: p.EndpointID, EventID: p.EventID, EventType: p.EventType, Body: p.Body}
	e, state, err := d.store.endpointAndDelivery(ctx, p.EndpointID, p.DeliveryID)
	if errors.Is(err, errNotFound) {
		return nil // the endpoint was deleted
	}
	if err != nil {
		return err
	}
	if state.Status == "succeeded" || state.Status == "failed" {
		return nil // a duplicate of a finished task; redeliver resets the status first
	}
	attempt := state.Attempts + 1
	if !e.Enabled {
		msg := "endpoint disabled"
		_, err := d.store.recordAttempt(ctx, del, attempt, outcome{status: "failed", err: &msg})
		return err
	}
	res := d.post(ctx, e, del)
	return d.settle(ctx, e, del, attempt, res)
}

// post sends the delivery once.
func (d *deliverer) post(ctx context.Context, e *Endpoint, del *Delivery) result {
	now := d.now()
	ts := now.Unix()
	sig, err := signatures(e.liveSecrets(now), del.ID.String(), ts, []byte(del.Body))
	if err != nil {
		return result{err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader([]byte(del.Body)))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Veza-Webhooks/1")
	req.Header.Set("webhook-id", del.ID.String())
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	res, err := d.client.Do(req)
	if err != nil {
		return result{err: err, latency: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxResponse))
	res.Body.Close()
	r := result{code: res.StatusCode, latency: time.Since(start)}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
		r.retryAfter = parseRetryAfter(res.Header.Get("Retry-After"), now, d.settings.MaxRetryAfter)
	}
	return r
}

// settle records the attempt and decides what comes next.
func (d *deliverer) settle(ctx context.Context, e *Endpoint, del *Delivery, attempt int, r result) error {
	o := outcome{latency: r.latency}
	if r.code != 0 {
		code := r.code
		o.code = &code
	}
	if r.err != nil {
		msg := describeErr(r.err)
		o.err = &msg
	}
	switch {
	case r.err == nil && r.code >= 200 && r.code < 300:
		o.status = "succeeded"
		_, err := d.store.recordAttempt(ctx, del, attempt, o)
		return err
	case r.err == nil && r.code == http.StatusGone:
		o.status = "failed"
		if _, err := d.store.recordAttempt(ctx, del, attempt, o); err != nil {
			return err
		}
		return d.disable(ctx, e, "the receiver answered 410 Gone")
	}
	cause := describe(r)
	retry, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	// A target the SSRF guard refused stays refused: retrying would only
	// knock on the same internal address on the schedule.
	final := retry >= maxRetry || errors.Is(r.err, errForbiddenTarget)
	var delay time.Duration
	if !final {
		delay = d.nextDelay(retry, r.retryAfter)
		next := d.now().Add(delay).UTC()
		o.nextRetry = &next
		o.status = "retrying"
	} else {
		o.status = "failed"
	}
	failingSince, err := d.store.recordAttempt(ctx, del, attempt, o)
	if err != nil {
		return err
	}
	if failingSince != nil && d.now().Sub(*failingSince) >= d.settings.DisableAfter {
		if err := d.disable(ctx, e, fmt.Sprintf("failing continuously since %s", failingSince.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
		return fmt.Errorf("%s: endpoint disabled: %w", cause, asynq.SkipRetry)
	}
	if final {
		return fmt.Errorf("%s: no retries left: %w", cause, asynq.SkipRetry)
	}
	return &retryIn{delay: delay, cause: cause}
}

// nextDelay is the wait before retry number retry+1: the receiver's
// Retry-After when it sent one, else the schedule with jitter.
func (d *deliverer) nextDelay(retry int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	sched := d.settings.RetrySchedule
	base := sched[min(retry, len(sched)-1)]
	j := d.settings.RetryJitter
	if j == 0 {
		return base
	}
	f := 1 + j*(2*rand.Float64()-1)
	return time.Duration(float64(base) * f)
}

// disable turns the endpoint off and tells its owner through an event.
func (d *deliverer) disable(ctx context.Context, e *Endpoint, reason string) error {
	return db.WithTx(ctx, d.db, func(tx *sqlx.Tx) error {
		changed, err := d.store.disable(ctx, tx, e.ID, reason)
		if err != nil || !changed {
			return err
		}
		d.log.Warn("webhook endpoint disabled", zap.String("endpoint_id", e.ID.String()), zap.String("reason", reason))
		_, err = d.pub.Publish(ctx, tx, EndpointDisabledEvent, map[string]any{
			"webhook_id": e.ID, "url": e.URL, "reason": reason, "disabled_at": d.now().UTC(),
		}, e.OwnerID)
		return err
	})
}

func describe(r result) string {
	if r.err != nil {
		return describeErr(r.err)
	}
	return "HTTP " + strconv.Itoa(r.code)
}

func describeErr(err error) string {
	switch {
	case errors.Is(err, errForbiddenTarget):
		return errForbiddenTarget.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		// Without the resolver's address, which is ours.
		return fmt.Sprintf("could not resolve %s: %s", dns.Name, dns.Err)
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// parseRetryAfter reads seconds or an HTTP date, capped.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, limit))
}
