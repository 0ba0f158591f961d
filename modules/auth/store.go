package auth

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// User is a row of users.
type User struct {
	ID              uuid.UUID  `db:"id"`
	Username        string     `db:"username"`
	Email           string     `db:"email"`
	PasswordHash    string     `db:"password_hash"`
	Role            string     `db:"role"`
	EmailVerifiedAt *time.Time `db:"email_verified_at"`
	BannedAt        *time.Time `db:"banned_at"`
	BanReason       *string    `db:"ban_reason"`
	TokenVersion    int        `db:"token_version"`
	DisplayName     string     `db:"display_name"`
	Bio             string     `db:"bio"`
	AvatarURL       string     `db:"avatar_url"`
	Location        string     `db:"location"`
	Links           stringList `db:"links"`
	CreatedAt       time.Time  `db:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
}

// stringList is a jsonb array of strings. It is written as text: with
// binary_parameters a []byte would be sent in jsonb's binary format.
type stringList []string

// Value implements driver.Valuer.
func (l stringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan implements sql.Scanner.
func (l *stringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*l = nil
		return nil
	default:
		return fmt.Errorf("links: unexpected %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}

var (
	errNotFound      = errors.New("not found")
	errEmailTaken    = errors.New("email taken")
	errUsernameTaken = errors.New("username taken")
)

// touched is the SET clause of every write to users. updated_at moves
// forward by at least a microsecond whatever now() says (the start of the
// transaction, which may precede that of a write that took the row lock
// first), so that it orders the changes of one account: auth's events carry
// it as their At, and copies kept from events rely on it.
const touched = `updated_at = greatest(now(), updated_at + interval '1 microsecond')`

const userColumns = `id, username, email, password_hash, role, email_verified_at, banned_at, ban_reason,
	token_version, display_name, bio, avatar_url, location, links, created_at, updated_at`

// store holds the module's SQL.
type store struct{ db *sqlx.DB }

func newStore(db *sqlx.DB) *store { return &store{db: db} }

func (s *store) createUser(ctx context.Context, tx sqlx.ExtContext, u *User) error {
	err := sqlx.GetContext(ctx, tx, u, `
		INSERT INTO users (id, username, email, password_hash, role, email_verified_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+userColumns,
		u.ID, u.Username, u.Email, u.PasswordHash, u.Role, u.EmailVerifiedAt)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		switch pqErr.Constraint {
		case "users_email_key":
			return errEmailTaken
		case "users_username_key":
			return errUsernameTaken
		}
	}
	if err != nil {
		return fmt.Errorf("insert user %s: %w", u.Username, err)
	}
	return nil
}

func (s *store) userBy(ctx context.Context, q sqlx.QueryerContext, where string, arg any) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, q, &u, `SELECT `+userColumns+` FROM users WHERE `+where, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	return &u, nil
}

func (s *store) userByID(ctx context.Context, id uuid.UUID) (*User, error) {
	return s.userBy(ctx, s.db, "id = $1", id)
}

func (s *store) userByEmail(ctx context.Context, email string) (*User, error) {
	return s.userBy(ctx, s.db, "email = $1", email)
}

func (s *store) userByUsername(ctx context.Context, username string) (*User, error) {
	return s.userBy(ctx, s.db, "lower(username) = lower($1)", username)
}

func (s *store) usernameTaken(ctx context.Context, username string) (bool, error) {
	var taken bool
	err := s.db.GetContext(ctx, &taken, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1))`, username)
	if err != nil {
		return false, fmt.Errorf("check username: %w", err)
	}
	return taken, nil
}

// markVerified sets email_verified_at once; it reports whether it changed.
func (s *store) markVerified(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET email_verified_at = now(), `+touched+`
		WHERE id = $1 AND email_verified_at IS NULL`, id)
	if err != nil {
		return false, fmt.Errorf("verify user %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// setPassword stores a new hash and bumps token_version, so every access
// token issued before stops working.
func (s *store) setPassword(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID, hash string) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2, token_version = token_version + 1, `+touched+`
		WHERE id = $1`, id, hash)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", id, err)
	}
	return nil
}

// rehash replaces a hash made with older parameters, unless it changed since.
func (s *store) rehash(ctx context.Context, id uuid.UUID, old, hash string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, old, hash)
	if err != nil {
		return fmt.Errorf("rehash password of %s: %w", id, err)
	}
	return nil
}

func (s *store) bumpTokenVersion(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET token_version = token_version + 1, `+touched+` WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("bump token version of %s: %w", id, err)
	}
	return nil
}

// profile is the part of a user its owner may change.
type profile struct {
	DisplayName string
	Bio         string
	AvatarURL   string
	Location    string
	Links       stringList
}

func (s *store) saveProfile(ctx context.Context, tx sqlx.QueryerContext, id uuid.UUID, p profile) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, tx, &u, `
		UPDATE users SET display_name = $2, bio = $3, avatar_url = $4, location = $5, links = $6::jsonb, `+touched+`
		WHERE id = $1
		RETURNING `+userColumns, id, p.DisplayName, p.Bio, p.AvatarURL, p.Location, p.Links)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update profile of %s: %w", id, err)
	}
	return &u, nil
}

// profileRow is what anyone may see of an account, for authn.Profiles.
type profileRow struct {
	ID          uuid.UUID `db:"id"`
	Username    string    `db:"username"`
	DisplayName string    `db:"display_name"`
	AvatarURL   string    `db:"avatar_url"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// profiles loads the public profiles of those of ids that name an account
// that is not banned.
func (s *store) profiles(ctx context.Context, ids []uuid.UUID) ([]profileRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = id.String()
	}
	var out []profileRow
	err := s.db.SelectContext(ctx, &out, `SELECT id, username, display_name, avatar_url, updated_at FROM users
		WHERE id = ANY($1::uuid[]) AND banned_at IS NULL`, pq.Array(strs))
	if err != nil {
		return nil, fmt.Errorf("load %d profiles: %w", len(ids), err)
	}
	return out, nil
}

// Session is a row of auth_sessions.
type Session struct {
	ID         uuid.UUID  `db:"id"`
	UserID     uuid.UUID  `db:"user_id"`
	Device     string     `db:"device"`
	IP         *string    `db:"ip"`
	UserAgent  string     `db:"user_agent"`
	CreatedAt  time.Time  `db:"created_at"`
	LastUsedAt time.Time  `db:"last_used_at"`
	ExpiresAt  time.Time  `db:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

func (s *store) createSession(ctx context.Context, tx sqlx.ExtContext, ses *Session, tokenHash []byte) error {
	var ip any
	if ses.IP != nil {
		ip = *ses.IP
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO auth_sessions (id, user_id, device, ip, user_agent, expires_at)
		VALUES ($1, $2, $3, $4::inet, $5, $6)`,
		ses.ID, ses.UserID, ses.Device, ip, ses.UserAgent, ses.ExpiresAt); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return s.addRefreshToken(ctx, tx, ses.ID, tokenHash)
}

func (s *store) addRefreshToken(ctx context.Context, tx sqlx.ExtContext, sessionID uuid.UUID, hash []byte) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO auth_refresh_tokens (token_hash, session_id) VALUES ($1, $2)`, hash, sessionID); err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

// refreshState is what a presented refresh token leads to, read under a row
// lock so that two refreshes of one token cannot both win.
type refreshState struct {
	SessionID uuid.UUID  `db:"session_id"`
	UserID    uuid.UUID  `db:"user_id"`
	Spent     bool       `db:"spent"`
	RevokedAt *time.Time `db:"revoked_at"`
	ExpiresAt time.Time  `db:"expires_at"`
}

func (s *store) lockRefreshToken(ctx context.Context, tx sqlx.ExtContext, hash []byte) (*refreshState, error) {
	var st refreshState
	err := sqlx.GetContext(ctx, tx, &st, `
		SELECT t.session_id, s.user_id, t.spent_at IS NOT NULL AS spent, s.revoked_at, s.expires_at
		FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
		WHERE t.token_hash = $1
		FOR UPDATE OF t, s`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load refresh token: %w", err)
	}
	return &st, nil
}

func (s *store) spendRefreshToken(ctx context.Context, tx sqlx.ExtContext, hash []byte) error {
	if _, err := tx.ExecContext(ctx, `UPDATE auth_refresh_tokens SET spent_at = now() WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("spend refresh token: %w", err)
	}
	return nil
}

func (s *store) touchSession(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID, ip string, expires time.Time) error {
	var ipv any
	if ip != "" {
		ipv = ip
	}
	_, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET last_used_at = now(), ip = coalesce($2::inet, ip), expires_at = $3 WHERE id = $1`, id, ipv, expires)
	if err != nil {
		return fmt.Errorf("touch session %s: %w", id, err)
	}
	return nil
}

// revokeSession ends one session of user; it reports whether it was live.
func (s *store) revokeSession(ctx context.Context, tx sqlx.ExtContext, userID, id uuid.UUID, reason string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $3
		WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`, id, userID, reason)
	if err != nil {
		return false, fmt.Errorf("revoke session %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *store) revokeAllSessions(ctx context.Context, tx sqlx.ExtContext, userID uuid.UUID, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
		WHERE user_id = $1 AND revoked_at IS NULL`, userID, reason)
	if err != nil {
		return fmt.Errorf("revoke sessions of %s: %w", userID, err)
	}
	return nil
}

func (s *store) sessionOfToken(ctx context.Context, hash []byte) (uuid.UUID, uuid.UUID, error) {
	var row struct {
		SessionID uuid.UUID `db:"session_id"`
		UserID    uuid.UUID `db:"user_id"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT t.session_id, s.user_id FROM auth_refresh_tokens t
		JOIN auth_sessions s ON s.id = t.session_id WHERE t.token_hash = $1`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, uuid.Nil, errNotFound
	}
	if err != nil {
		return uuid.Nil, uuid.Nil, fmt.Errorf("find session of token: %w", err)
	}
	return row.SessionID, row.UserID, nil
}

func (s *store) liveSessions(ctx context.Context, userID uuid.UUID) ([]Session, error) {
	var out []Session
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, user_id, device, host(ip) AS ip, user_agent, created_at, last_used_at, expires_at, revoked_at
		FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
		ORDER BY last_used_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", userID, err)
	}
	return out, nil
}

// tokenState is what the authenticator checks an access token against.
type tokenState struct {
	Version     int  `db:"token_version"`
	Banned      bool `db:"banned"`
	SessionLive bool `db:"session_live"`
}

func (s *store) tokenState(ctx context.Context, userID, sessionID uuid.UUID) (*tokenState, error) {
	var st tokenState
	err := s.db.GetContext(ctx, &st, `
		SELECT u.token_version, u.banned_at IS NOT NULL AS banned,
		       coalesce(s.revoked_at IS NULL AND s.expires_at > now(), false) AS session_live
		FROM users u LEFT JOIN auth_sessions s ON s.id = $2 AND s.user_id = u.id
		WHERE u.id = $1`, userID, sessionID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("token state of %s: %w", userID, err)
	}
	return &st, nil
}

// addEmailToken stores a mailed token's hash once: storing the same hash
// again (a retried mail job) keeps the first row, and its expiry. live
// reports whether the stored token can still be used.
func (s *store) addEmailToken(ctx context.Context, userID uuid.UUID, purpose string, hash []byte, expires time.Time) (live bool, err error) {
	// The outer SELECT does not see the CTE's insert (one snapshot), hence
	// the two EXISTS.
	err = s.db.GetContext(ctx, &live, `
		WITH ins AS (
			INSERT INTO auth_email_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (token_hash) DO NOTHING
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins) OR EXISTS (
			SELECT 1 FROM auth_email_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now())`,
		hash, userID, purpose, expires)
	if err != nil {
		return false, fmt.Errorf("store %s token: %w", purpose, err)
	}
	return live, nil
}

// useEmailToken spends a live token of purpose and returns its user; every
// other token of the same purpose for that user is spent with it.
func (s *store) useEmailToken(ctx context.Context, tx sqlx.ExtContext, hash []byte, purpose string) (uuid.UUID, error) {
	var userID uuid.UUID
	err := sqlx.GetContext(ctx, tx, &userID, `
		UPDATE auth_email_tokens SET used_at = now()
		WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
		RETURNING user_id`, hash, purpose)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, errNotFound
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("use %s token: %w", purpose, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE auth_email_tokens SET used_at = now()
		WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, userID, purpose); err != nil {
		return uuid.Nil, fmt.Errorf("spend other %s tokens: %w", purpose, err)
	}
	return userID, nil
}
