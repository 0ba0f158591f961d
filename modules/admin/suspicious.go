package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/audit"
)

// Suspicious is what GET /admin/audit/suspicious answers: the callers
// whose recorded activity in [from, to) passed a threshold, each list
// ordered by count, at most maxSuspects entries each.
type Suspicious struct {
	From                  time.Time         `json:"from"`
	To                    time.Time         `json:"to"`
	Thresholds            Thresholds        `json:"thresholds"`
	FailedLoginsByIP      []IPFailures      `json:"failed_logins_by_ip"`
	FailedLoginsByAccount []AccountFailures `json:"failed_logins_by_account"`
	LoginsFromManyIPs     []ManyAddresses   `json:"logins_from_many_ips"`
	Forbidden             []Refusals        `json:"forbidden"`
}

// Thresholds are the settings the lists were drawn with.
type Thresholds struct {
	FailedLoginsPerIP      int `json:"failed_logins_per_ip"`
	FailedLoginsPerAccount int `json:"failed_logins_per_account"`
	LoginIPsPerAccount     int `json:"login_ips_per_account"`
	ForbiddenPerCaller     int `json:"forbidden_per_caller"`
}

// IPFailures are the failed logins from one client address, whatever the
// accounts tried.
type IPFailures struct {
	IP       string    `db:"ip" json:"ip"`
	Count    int64     `db:"count" json:"count" doc:"failed and refused (throttled) logins"`
	Accounts int64     `db:"accounts" json:"accounts" doc:"distinct email addresses tried"`
	FirstAt  time.Time `db:"first_at" json:"first_at"`
	LastAt   time.Time `db:"last_at" json:"last_at"`
}

// AccountFailures are the failed logins to one email address, from every
// client address.
type AccountFailures struct {
	Email   string     `db:"email" json:"email"`
	UserID  *uuid.UUID `db:"user_id" json:"user_id" doc:"the account with this email; null when there is none"`
	Count   int64      `db:"count" json:"count"`
	IPs     int64      `db:"ips" json:"ips" doc:"distinct client addresses"`
	FirstAt time.Time  `db:"first_at" json:"first_at"`
	LastAt  time.Time  `db:"last_at" json:"last_at"`
}

// ManyAddresses is an account signed in to from many client addresses.
type ManyAddresses struct {
	UserID  uuid.UUID      `db:"user_id" json:"user_id"`
	IPs     pq.StringArray `db:"ips" json:"ips" doc:"the distinct client addresses"`
	Logins  int64          `db:"logins" json:"logins"`
	FirstAt time.Time      `db:"first_at" json:"first_at"`
	LastAt  time.Time      `db:"last_at" json:"last_at"`
}

// Refusals are the 403 answers to one caller: an account, or a client
// address for callers without one (a banned account's token).
type Refusals struct {
	ActorID *uuid.UUID     `db:"actor_id" json:"actor_id" doc:"null for callers without an account"`
	IP      *string        `db:"ip" json:"ip" doc:"the client address, when actor_id is null"`
	Count   int64          `db:"count" json:"count"`
	Routes  pq.StringArray `db:"routes" json:"routes" doc:"the routes refused, at most 10"`
	FirstAt time.Time      `db:"first_at" json:"first_at"`
	LastAt  time.Time      `db:"last_at" json:"last_at"`
}

// maxSuspects bounds each list.
const maxSuspects = 100

// suspicious draws the lists of [from, to) with thresholds t. Each query
// reads one or two actions over the window through the (action, at) index.
func (s *store) suspicious(ctx context.Context, from, to time.Time, t Thresholds) (*Suspicious, error) {
	out := &Suspicious{From: from.UTC(), To: to.UTC(), Thresholds: t}
	failed := pq.StringArray{authapi.AuditLoginFailed, authapi.AuditLoginBlocked}
	queries := []struct {
		what string
		dst  any
		sql  string
		args []any
	}{
		{"failed logins by address", &out.FailedLoginsByIP, `
			SELECT host(ip) AS ip, count(*) AS count, count(DISTINCT meta->>'email') AS accounts,
			       min(at) AS first_at, max(at) AS last_at
			FROM audit_log
			WHERE action = ANY($1) AND at >= $2 AND at < $3 AND ip IS NOT NULL
			GROUP BY ip HAVING count(*) >= $4
			ORDER BY count(*) DESC, ip LIMIT $5`, []any{failed, from, to, t.FailedLoginsPerIP, maxSuspects}},
		{"failed logins by account", &out.FailedLoginsByAccount, `
			SELECT meta->>'email' AS email, (array_agg(actor_id) FILTER (WHERE actor_id IS NOT NULL))[1] AS user_id,
			       count(*) AS count, count(DISTINCT ip) AS ips, min(at) AS first_at, max(at) AS last_at
			FROM audit_log
			WHERE action = ANY($1) AND at >= $2 AND at < $3 AND meta ? 'email'
			GROUP BY meta->>'email' HAVING count(*) >= $4
			ORDER BY count(*) DESC, 1 LIMIT $5`, []any{failed, from, to, t.FailedLoginsPerAccount, maxSuspects}},
		{"logins from many addresses", &out.LoginsFromManyIPs, `
			SELECT actor_id AS user_id, array_agg(DISTINCT host(ip)) AS ips, count(*) AS logins,
			       min(at) AS first_at, max(at) AS last_at
			FROM audit_log
			WHERE action = ANY($1) AND success AND at >= $2 AND at < $3 AND actor_id IS NOT NULL AND ip IS NOT NULL
			GROUP BY actor_id HAVING count(DISTINCT ip) >= $4
			ORDER BY count(DISTINCT ip) DESC, actor_id LIMIT $5`,
			[]any{pq.StringArray{authapi.AuditLogin, ActionSignIn}, from, to, t.LoginIPsPerAccount, maxSuspects}},
		{"403 answers by caller", &out.Forbidden, `
			SELECT actor_id, CASE WHEN actor_id IS NULL THEN host(ip) END AS ip, count(*) AS count,
			       (array_agg(DISTINCT target_id))[1:10] AS routes, min(at) AS first_at, max(at) AS last_at
			FROM audit_log
			WHERE action = $1 AND at >= $2 AND at < $3
			GROUP BY 1, 2 HAVING count(*) >= $4
			ORDER BY count(*) DESC, 1, 2 LIMIT $5`, []any{audit.ActionForbidden, from, to, t.ForbiddenPerCaller, maxSuspects}},
	}
	for _, q := range queries {
		if err := s.db.SelectContext(ctx, q.dst, q.sql, q.args...); err != nil {
			return nil, fmt.Errorf("suspicious activity, %s: %w", q.what, err)
		}
	}
	out.nonNil()
	return out, nil
}

// nonNil makes empty lists [] rather than null.
func (s *Suspicious) nonNil() {
	if s.FailedLoginsByIP == nil {
		s.FailedLoginsByIP = []IPFailures{}
	}
	if s.FailedLoginsByAccount == nil {
		s.FailedLoginsByAccount = []AccountFailures{}
	}
	if s.LoginsFromManyIPs == nil {
		s.LoginsFromManyIPs = []ManyAddresses{}
	}
	if s.Forbidden == nil {
		s.Forbidden = []Refusals{}
	}
}
