package tracks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
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

// serveFile answers with the track's bytes: from local disk with Range
// support (206, 416) and zero-copy sendfile; from S3 with a redirect to a
// short-lived presigned URL. attachment names a download.
func (h *handler) serveFile(c *fiber.Ctx, t *Track, attachment string) error {
	if t.Status != "ready" {
		return httpx.Conflict("not_ready", "the track is "+t.Status+"; try again once it is ready")
	}
	svc := h.svc
	if path, ok := svc.files.LocalPath(t.StorageKey); ok {
		tag := etag(t)
		if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, tag) {
			c.Set(fiber.HeaderETag, tag)
			return c.SendStatus(http.StatusNotModified)
		}
		if ifRange := c.Get("If-Range"); ifRange != "" && ifRange != tag {
			c.Request().Header.Del(fiber.HeaderRange) // the client's copy is stale: send it whole
		}
		if err := c.SendFile(path); err != nil {
			return fmt.Errorf("send %s: %w", t.StorageKey, err)
		}
		status := c.Response().StatusCode()
		if status == http.StatusNotFound {
			return httpx.Unavailable("file_missing", "the track's file is missing from storage", errors.New(t.StorageKey))
		}
		if status == http.StatusRequestedRangeNotSatisfiable {
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", t.SizeBytes))
			return httpx.NewError(http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable",
				fmt.Sprintf("the range is outside the file's %d bytes", t.SizeBytes))
		}
		c.Set(fiber.HeaderContentType, t.ContentType)
		c.Set(fiber.HeaderETag, tag)
		c.Set(fiber.HeaderAcceptRanges, "bytes")
		c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
		if attachment != "" {
			c.Set(fiber.HeaderContentDisposition, contentDisposition(attachment))
		}
		return nil
	}
	url, err := svc.files.PresignGet(c.UserContext(), t.StorageKey, svc.presign, attachment)
	if errors.Is(err, storage.ErrNotFound) {
		return httpx.Unavailable("file_missing", "the track's file is missing from storage", err)
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
	if err := h.serveFile(c, t, ""); err != nil {
		return err
	}
	if s := c.Response().StatusCode(); s == http.StatusOK || s == http.StatusPartialContent || s == http.StatusFound {
		h.svc.queuePlay(t.ID, listener(c))
	}
	return nil
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
	if err := h.serveFile(c, t, t.Title+t.extension()); err != nil {
		return err
	}
	if c.Response().StatusCode() < 300 || c.Response().StatusCode() == http.StatusFound {
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
