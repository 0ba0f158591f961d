package tracks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/storage"
)

// etag is strong: a track's file never changes once uploaded.
func etag(t *Track) string { return fmt.Sprintf(`"%s-%x"`, t.ID, t.SizeBytes) }

// listener identifies who plays: the account when known, else a hash of
// the address (addresses are not stored).
func listener(c *fiber.Ctx) string {
	if p := authn.FromCtx(c); p != nil {
		return "u:" + p.UserID.String()
	}
	sum := sha256.Sum256([]byte(c.IP()))
	return "ip:" + hex.EncodeToString(sum[:12])
}

// Cache-Control of the file answers: a track's bytes never change, but a
// share link can be revoked, so its answers are checked with the server
// (If-None-Match, 304) before each reuse.
const (
	cacheTrack  = "private, max-age=3600"
	cacheShared = "private, no-cache"
)

// serveFile answers with the track's bytes: from local disk with Range
// support (206, 416) and zero-copy sendfile; from S3 with a redirect to a
// short-lived presigned URL. attachment names a download. HEAD gets the
// same answer without its body.
func (h *handler) serveFile(c *fiber.Ctx, t *Track, attachment, cache string) error {
	if t.Status != "ready" {
		return httpx.Conflict("not_ready", "the track is "+t.Status+"; try again once it is ready")
	}
	if path, ok := h.svc.files.LocalPath(t.StorageKey); ok {
		return h.sendLocal(c, t, path, attachment, cache)
	}
	return h.redirectToStore(c, t, attachment)
}

func (h *handler) sendLocal(c *fiber.Ctx, t *Track, path, attachment, cache string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fileMissing(t, err)
	}
	tag := etag(t)
	c.Set(fiber.HeaderETag, tag)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderCacheControl, cache)
	if noneMatch(c.Get(fiber.HeaderIfNoneMatch), tag) {
		return c.SendStatus(http.StatusNotModified)
	}
	if settleRange(c, info.Size(), tag, info.ModTime()) {
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", info.Size()))
		return httpx.NewError(http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable",
			fmt.Sprintf("the range is outside the file's %d bytes", info.Size()))
	}
	if err := c.SendFile(path); err != nil {
		return fmt.Errorf("send %s: %w", t.StorageKey, err)
	}
	if c.Response().StatusCode() == http.StatusNotFound {
		return fileMissing(t, errors.New("gone while being sent"))
	}
	c.Set(fiber.HeaderContentType, t.ContentType)
	if attachment != "" {
		c.Set(fiber.HeaderContentDisposition, contentDisposition(attachment))
	}
	return nil
}

func fileMissing(t *Track, cause error) error {
	return httpx.Unavailable("file_missing", "the track's file is missing from storage", fmt.Errorf("%s: %w", t.StorageKey, cause))
}

func (h *handler) redirectToStore(c *fiber.Ctx, t *Track, attachment string) error {
	url, err := h.svc.files.PresignGet(c.UserContext(), t.StorageKey, h.svc.presign, attachment)
	if errors.Is(err, storage.ErrNotFound) {
		return fileMissing(t, err)
	}
	if err != nil {
		return fmt.Errorf("presign %s: %w", t.StorageKey, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(url, http.StatusFound)
}

// contentDisposition names an attachment safely (ASCII fallback and the
// UTF-8 name, RFC 6266).
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, urlEncode(name))
}

func urlEncode(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

func (h *handler) stream(c *fiber.Ctx) error {
	t, err := h.track(c)
	if err != nil {
		return err
	}
	if err := h.serveFile(c, t, "", cacheTrack); err != nil {
		return err
	}
	h.played(c, t)
	return nil
}

// sharedStream plays the track behind a live share link, whoever asks and
// whatever the track's visibility: the link is the permission.
func (h *handler) sharedStream(c *fiber.Ctx) error {
	t, err := h.svc.Shared(c.UserContext(), c.Params("token"))
	if err != nil {
		return err
	}
	if err := h.serveFile(c, t, "", cacheShared); err != nil {
		return err
	}
	h.played(c, t)
	return nil
}

// played counts a play of t when its bytes (or the way to them) went out:
// not for HEAD, 304 or 416.
func (h *handler) played(c *fiber.Ctx, t *Track) {
	if c.Method() == fiber.MethodHead {
		return
	}
	if s := c.Response().StatusCode(); s == http.StatusOK || s == http.StatusPartialContent || s == http.StatusFound {
		h.svc.queuePlay(t.ID, listener(c))
	}
}

func (h *handler) download(c *fiber.Ctx) error {
	t, err := h.track(c)
	if err != nil {
		return err
	}
	p := authn.FromCtx(c)
	if p == nil || (p.UserID != t.OwnerID && !p.IsAdmin()) {
		return httpx.Forbidden("forbidden", "only the owner may download the original file")
	}
	if err := h.serveFile(c, t, t.Title+t.extension(), cacheTrack); err != nil {
		return err
	}
	if s := c.Response().StatusCode(); c.Method() != fiber.MethodHead && (s < 300 || s == http.StatusFound) {
		_ = h.svc.store.countDownload(c.UserContext(), t.ID)
	}
	return nil
}

func (t *Track) extension() string {
	if i := strings.LastIndexByte(t.StorageKey, '.'); i >= 0 {
		return t.StorageKey[i:]
	}
	return ""
}
