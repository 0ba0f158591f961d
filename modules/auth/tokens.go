package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	Role         string `json:"role"`
	TokenVersion int    `json:"token_version"`
	SessionID    string `json:"sid"`
}

// tokenIssuer signs and verifies access tokens: HS256 only, with issuer,
// audience, expiry and issue time required.
type tokenIssuer struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

func newTokenIssuer(secret, issuer, audience string, ttl time.Duration) *tokenIssuer {
	ti := &tokenIssuer{secret: []byte(secret), issuer: issuer, audience: audience, ttl: ttl, now: time.Now}
	ti.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(func() time.Time { return ti.now() }),
	)
	return ti
}

// issue returns a signed access token for u in session sid.
func (ti *tokenIssuer) issue(u *User, sid uuid.UUID) (string, error) {
	now := ti.now()
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    ti.issuer,
			Subject:   u.ID.String(),
			Audience:  jwt.ClaimStrings{ti.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ti.ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Role:         u.Role,
		TokenVersion: u.TokenVersion,
		SessionID:    sid.String(),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(ti.secret)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// parse verifies an access token and returns its claims.
func (ti *tokenIssuer) parse(token string) (*accessClaims, error) {
	var claims accessClaims
	_, err := ti.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return ti.secret, nil })
	if err != nil {
		return nil, err
	}
	if claims.Subject == "" || claims.ID == "" {
		return nil, errors.New("token lacks sub or jti")
	}
	return &claims, nil
}

// newOpaqueToken returns a random token for refresh and mail links and the
// SHA-256 under which it is stored: 256 random bits need no slow hash.
func newOpaqueToken(prefix string) (string, []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
