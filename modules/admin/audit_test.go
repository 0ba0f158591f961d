package admin_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

type entry struct {
	ID         int64          `json:"id"`
	ActorID    *string        `json:"actor_id"`
	Action     string         `json:"action"`
	Module     string         `json:"module"`
	TargetType *string        `json:"target_type"`
	TargetID   *string        `json:"target_id"`
	IP         *string        `json:"ip"`
	UserAgent  *string        `json:"user_agent"`
	RequestID  *string        `json:"request_id"`
	Result     string         `json:"result"`
	CreatedAt  time.Time      `json:"created_at"`
	Meta       map[string]any `json:"meta"`
}

func (e *env) entries(t *testing.T, admin account, query string) pageOf[entry] {
	t.Helper()
	var p pageOf[entry]
	e.Do(t, "GET", "/api/v1/admin/audit/logs?"+query, nil, admin.bearer()...).Status(t, 200).Data(t, &p)
	return p
}

// The log filters by actor, action, module and time, walks its pages
// newest first, each entry in the pinned shape; malformed filters are 400.
func TestAuditLogs(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	bob := e.user(t, "bob", "user")
	e.Do(t, "PUT", "/api/v1/admin/users/"+bob.ID+"/role", map[string]string{"role": "creator"}, root.bearer()...).Status(t, 200)
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": bob.Email, "password": "not the password"},
		"X-Forwarded-For", "203.0.113.9", "User-Agent", "probe/1.0", "X-Request-ID", "req-42").ErrorCode(t, 401, "invalid_credentials")

	p := e.entries(t, root, "action=auth.role_changed")
	if len(p.Items) != 1 {
		t.Fatalf("role changes: %+v", p.Items)
	}
	rc := p.Items[0]
	if rc.ActorID == nil || *rc.ActorID != root.ID || rc.Module != "auth" || *rc.TargetType != "user" || *rc.TargetID != bob.ID ||
		rc.Result != "success" || rc.Meta["to"] != "creator" || rc.CreatedAt.IsZero() || rc.RequestID == nil {
		t.Fatalf("role change entry: %+v", rc)
	}
	failed := e.entries(t, root, "action=auth.login_failed").Items
	if len(failed) != 1 || *failed[0].IP != "203.0.113.9" || *failed[0].UserAgent != "probe/1.0" || *failed[0].RequestID != "req-42" ||
		failed[0].Result != "failure" || *failed[0].ActorID != bob.ID {
		t.Fatalf("failed login entry: %+v", failed)
	}
	for _, it := range e.entries(t, root, "actor_id="+bob.ID).Items {
		if it.ActorID == nil || *it.ActorID != bob.ID {
			t.Fatalf("actor_id filter let through %+v", it)
		}
	}
	if n := len(e.entries(t, root, "module=admin").Items); n != 0 {
		t.Fatalf("module=admin: %d entries before any admin entry", n)
	}
	all := e.entries(t, root, "limit=100").Items
	if len(all) < 5 {
		t.Fatalf("only %d entries", len(all))
	}
	mid := all[len(all)/2].CreatedAt
	for _, it := range e.entries(t, root, "limit=100&from="+url.QueryEscape(mid.Format(time.RFC3339Nano))).Items {
		if it.CreatedAt.Before(mid) {
			t.Fatalf("from=%s let through %s", mid, it.CreatedAt)
		}
	}
	for _, it := range e.entries(t, root, "limit=100&to="+url.QueryEscape(mid.Format(time.RFC3339Nano))).Items {
		if !it.CreatedAt.Before(mid) {
			t.Fatalf("to=%s let through %s", mid, it.CreatedAt)
		}
	}
	// Pages of two: every entry once, newest first.
	var ids []int64
	cursor := ""
	for {
		p := e.entries(t, root, "limit=2"+cursor)
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *p.NextCursor
	}
	if len(ids) != len(all) {
		t.Fatalf("pages gave %d entries, one page %d", len(ids), len(all))
	}
	for i := range ids {
		if ids[i] != all[i].ID {
			t.Fatalf("entry %d: %d by pages, %d at once", i, ids[i], all[i].ID)
		}
	}
	for q, code := range map[string]string{"actor_id=bob": "bad_actor_id", "from=yesterday": "bad_time", "to=2026-13-01": "bad_time",
		"from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z": "bad_range", "limit=0": "bad_limit"} {
		e.Do(t, "GET", "/api/v1/admin/audit/logs?"+q, nil, root.bearer()...).ErrorCode(t, 400, code)
	}
}

// Entries are counted by day and action; entries of earlier days (written
// with a past time) land on their day.
func TestAuditStats(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	e.Runtime.DB().MustExec(`INSERT INTO audit_log (action, module, at) VALUES
		('test.poke', 'test', now() - interval '2 days'), ('test.poke', 'test', now() - interval '2 days'),
		('test.poke', 'test', now() - interval '40 days')`)
	var s struct {
		From   time.Time `json:"from"`
		To     time.Time `json:"to"`
		Counts []struct {
			Day    string `json:"day"`
			Action string `json:"action"`
			Count  int64  `json:"count"`
		} `json:"counts"`
		Totals []struct {
			Action string `json:"action"`
			Count  int64  `json:"count"`
		} `json:"totals"`
	}
	e.Do(t, "GET", "/api/v1/admin/audit/stats?module=test", nil, root.bearer()...).Status(t, 200).Data(t, &s)
	day := time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
	if len(s.Counts) != 1 || s.Counts[0].Day != day || s.Counts[0].Count != 2 || len(s.Totals) != 1 || s.Totals[0].Count != 2 {
		t.Fatalf("last 30 days of module test: %+v", s)
	}
	from := time.Now().UTC().AddDate(0, 0, -60).Format(time.RFC3339)
	e.Do(t, "GET", "/api/v1/admin/audit/stats?action=test.poke&from="+from, nil, root.bearer()...).Status(t, 200).Data(t, &s)
	if len(s.Counts) != 2 || s.Totals[0].Count != 3 {
		t.Fatalf("60 days: %+v", s)
	}
	e.Do(t, "GET", "/api/v1/admin/audit/stats", nil, root.bearer()...).Status(t, 200).Data(t, &s)
	today := time.Now().UTC().Format(time.DateOnly)
	if len(s.Counts) == 0 || s.Counts[0].Day != today {
		t.Fatalf("today's counts first: %+v", s.Counts)
	}
	e.Do(t, "GET", "/api/v1/admin/audit/stats?from=2020-01-01T00:00:00Z", nil, root.bearer()...).ErrorCode(t, 400, "bad_range")
}

// Suspicious activity: bursts of failed logins by address and by account,
// an account signed in to from many addresses, a caller refused many
// times; quiet callers are not listed.
func TestSuspiciousActivity(t *testing.T) {
	e := start(t, map[string]string{"VEZA_ADMIN_SUSPICIOUS_FAILED_LOGINS_PER_IP": "4", "VEZA_ADMIN_SUSPICIOUS_FAILED_LOGINS_PER_ACCOUNT": "3",
		"VEZA_ADMIN_SUSPICIOUS_LOGIN_IPS_PER_ACCOUNT": "3", "VEZA_ADMIN_SUSPICIOUS_FORBIDDEN_PER_CALLER": "3"})
	root := e.user(t, "root", "admin")
	victim := e.user(t, "victim", "user")
	nosy := e.user(t, "nosy", "user")
	quiet := e.user(t, "quiet", "user")
	login := func(ip, email, pw string) {
		e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}, "X-Forwarded-For", ip)
	}
	// One address sprays four accounts, one wrong password each.
	for i := range 4 {
		login("198.51.100.1", fmt.Sprintf("someone%d@example.com", i), "wrong password")
	}
	// The victim's password is guessed from three addresses.
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		login(ip, victim.Email, "wrong password")
	}
	// The victim then signs in from three more addresses (the first login
	// of the test was from 127.0.0.1); quiet from one more.
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		login(ip, victim.Email, password)
	}
	login("192.0.2.9", quiet.Email, password)
	// nosy knocks on admin routes.
	for range 3 {
		e.Do(t, "GET", "/api/v1/admin/users", nil, nosy.bearer()...).ErrorCode(t, 403, "forbidden")
	}
	e.Do(t, "GET", "/api/v1/admin/modules", nil, quiet.bearer()...).ErrorCode(t, 403, "forbidden")

	var s struct {
		Thresholds struct {
			FailedLoginsPerIP int `json:"failed_logins_per_ip"`
		} `json:"thresholds"`
		ByIP []struct {
			IP       string `json:"ip"`
			Count    int    `json:"count"`
			Accounts int    `json:"accounts"`
		} `json:"failed_logins_by_ip"`
		ByAccount []struct {
			Email  string  `json:"email"`
			UserID *string `json:"user_id"`
			Count  int     `json:"count"`
			IPs    int     `json:"ips"`
		} `json:"failed_logins_by_account"`
		ManyIPs []struct {
			UserID string   `json:"user_id"`
			IPs    []string `json:"ips"`
		} `json:"logins_from_many_ips"`
		Forbidden []struct {
			ActorID *string  `json:"actor_id"`
			Count   int      `json:"count"`
			Routes  []string `json:"routes"`
		} `json:"forbidden"`
	}
	e.Do(t, "GET", "/api/v1/admin/audit/suspicious", nil, root.bearer()...).Status(t, 200).Data(t, &s)
	if s.Thresholds.FailedLoginsPerIP != 4 || len(s.ByIP) != 1 || s.ByIP[0].IP != "198.51.100.1" || s.ByIP[0].Count != 4 || s.ByIP[0].Accounts != 4 {
		t.Errorf("failed logins by address: %+v", s.ByIP)
	}
	if len(s.ByAccount) != 1 || s.ByAccount[0].Email != victim.Email || s.ByAccount[0].UserID == nil ||
		*s.ByAccount[0].UserID != victim.ID || s.ByAccount[0].Count != 3 || s.ByAccount[0].IPs != 3 {
		t.Errorf("failed logins by account: %+v", s.ByAccount)
	}
	if len(s.ManyIPs) != 1 || s.ManyIPs[0].UserID != victim.ID || strings.Join(s.ManyIPs[0].IPs, ",") != "127.0.0.1,192.0.2.1,192.0.2.2,192.0.2.3" {
		t.Errorf("logins from many addresses: %+v", s.ManyIPs)
	}
	if len(s.Forbidden) != 1 || s.Forbidden[0].ActorID == nil || *s.Forbidden[0].ActorID != nosy.ID || s.Forbidden[0].Count != 3 ||
		strings.Join(s.Forbidden[0].Routes, ",") != "GET /api/v1/admin/users" {
		t.Errorf("403s: %+v", s.Forbidden)
	}
	// Outside the window, nothing.
	e.Do(t, "GET", "/api/v1/admin/audit/suspicious?to=2020-01-01T00:00:00Z", nil, root.bearer()...).Status(t, 200).Data(t, &s)
	if len(s.ByIP)+len(s.ByAccount)+len(s.ManyIPs)+len(s.Forbidden) != 0 {
		t.Errorf("an empty window lists %+v", s)
	}
	e.Do(t, "GET", "/api/v1/admin/audit/suspicious?from=2020-01-01T00:00:00Z", nil, root.bearer()...).ErrorCode(t, 400, "bad_range")
}
