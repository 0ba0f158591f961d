package marketplace

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
	"github.com/veza/veza/platform/storage"
)

// DownloadLink is the answer of GET /marketplace/download/:product_id.
type DownloadLink struct {
	URL       string    `json:"url" doc:"works without a bearer token until expires_at; it answers the file as an attachment"`
	ExpiresAt time.Time `json:"expires_at"`
}

// filesPath is where signed download URLs are answered.
const filesPath = "/marketplace/files/"

var (
	errNoLicense      = httpx.Forbidden("no_license", "you hold no active licence to this product")
	errInvalidLink    = httpx.Forbidden("invalid_link", "this download link is not one Veza made; ask for a new one")
	errLinkExpired    = httpx.Forbidden("link_expired", "this download link has expired; ask for a new one")
	errLicenseRevoked = httpx.Forbidden("license_revoked", "the licence behind this link was revoked")
)

// DownloadLink signs a URL to the original file of a product the caller
// holds a licence to, valid for DownloadTTL.
func (s *Service) DownloadLink(ctx context.Context, caller *authn.Principal, product uuid.UUID) (DownloadLink, error) {
	l, err := s.store.activeLicense(ctx, caller.UserID, product)
	if isNotFound(err) {
		return DownloadLink{}, errNoLicense
	}
	if err != nil {
		return DownloadLink{}, err
	}
	exp := s.now().Add(s.settings.DownloadTTL).Truncate(time.Second).UTC()
	return DownloadLink{URL: s.baseURL + app.APIPrefix + filesPath + s.signLink(l.ID, exp), ExpiresAt: exp}, nil
}

// signLink makes a link's token: the licence and the expiry, then their
// HMAC-SHA256, both base64url.
func (s *Service) signLink(license uuid.UUID, exp time.Time) string {
	var payload [24]byte
	copy(payload[:16], license[:])
	binary.BigEndian.PutUint64(payload[16:], uint64(exp.Unix()))
	body := base64.RawURLEncoding.EncodeToString(payload[:])
	return body + "." + base64.RawURLEncoding.EncodeToString(s.linkMAC(body))
}

func (s *Service) linkMAC(body string) []byte {
	mac := hmac.New(sha256.New, s.linkKey)
	mac.Write([]byte(body))
	return mac.Sum(nil)
}

// openLink checks a token's signature, in constant time, then its expiry.
func (s *Service) openLink(token string) (uuid.UUID, time.Time, error) {
	body, sig, ok := strings.Cut(token, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(got, s.linkMAC(body)) {
		return uuid.Nil, time.Time{}, errInvalidLink
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(payload) != 24 {
		return uuid.Nil, time.Time{}, errInvalidLink
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0)
	if !s.now().Before(exp) {
		return uuid.Nil, time.Time{}, errLinkExpired
	}
	return uuid.UUID(payload[:16]), exp, nil
}

// linkedFile is what a valid link gives: a presigned URL on S3, else the
// file to stream.
type linkedFile struct {
	RedirectURL string
	File        tracksapi.File
}

// OpenLink resolves a download link to its file, as long as the licence
// it was made for is active.
func (s *Service) OpenLink(ctx context.Context, token string) (linkedFile, error) {
	id, exp, err := s.openLink(token)
	if err != nil {
		return linkedFile{}, err
	}
	l, err := s.store.license(ctx, id)
	if isNotFound(err) {
		return linkedFile{}, errInvalidLink
	}
	if err != nil {
		return linkedFile{}, err
	}
	if l.Status != "active" {
		return linkedFile{}, errLicenseRevoked
	}
	// The presigned URL lives as long as the link would have.
	url, err := s.files.PresignOriginal(ctx, l.TrackID, max(exp.Sub(s.now()), time.Minute))
	if err == nil {
		return linkedFile{RedirectURL: url}, nil
	}
	if !errors.Is(err, storage.ErrNotSupported) {
		return linkedFile{}, fileError(err)
	}
	f, err := s.files.Original(ctx, l.TrackID)
	if err != nil {
		return linkedFile{}, fileError(err)
	}
	return linkedFile{File: f}, nil
}

// fileError answers what tracks said of a licensed track's file.
func fileError(err error) error {
	switch {
	case errors.Is(err, tracksapi.ErrNoTrack):
		return httpx.NotFound("the licensed track no longer exists")
	case errors.Is(err, tracksapi.ErrNotReady):
		return httpx.Conflict("not_ready", "the track's file is not ready; try again later")
	case errors.Is(err, storage.ErrNotFound):
		return httpx.Unavailable("file_missing", "the track's file is missing from storage", err)
	}
	return fmt.Errorf("open a licensed file: %w", err)
}

// Licenses returns a page of the caller's licences, newest first.
func (s *Service) Licenses(ctx context.Context, caller *authn.Principal, r page.Request[page.TimeID]) ([]license, string, error) {
	return page.Fetch(ctx, r, func(ctx context.Context, after *page.TimeID, n int) ([]license, error) {
		return s.store.listLicenses(ctx, caller.UserID, after, n)
	}, func(l *license) page.TimeID { return page.TimeID{At: l.IssuedAt, ID: l.ID} })
}
