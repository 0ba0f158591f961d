package tracks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/audio"
	"github.com/veza/veza/modules/tracks/clamav"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/jobs"
)

// upload is one upload in progress: the stored file and the form fields.
type upload struct {
	id     uuid.UUID
	key    string
	format audio.Format
	size   int64
	fields map[string]string
	tags   []string
}

// TryUpload reserves an upload slot for p: one of this process's
// MAX_CONCURRENT_UPLOADS (503 when none is free) and one of p's
// MAX_CONCURRENT_UPLOADS_PER_USER (429), both with Retry-After. release
// gives it back.
func (s *Service) TryUpload(p *authn.Principal) (release func(), err error) {
	return s.uploads.take(p.UserID)
}

var formFields = map[string]bool{"title": true, "genre": true, "description": true, "visibility": true, "tags": true}

// Upload reads a multipart body as it arrives: the file part is sniffed,
// then streamed to storage (never held in memory); the other parts are
// small fields. Whatever fails, nothing is left stored: a body that ends
// early (the client went away, or its form has no closing boundary) is
// refused with 400 malformed_body, not taken for a shorter file.
func (s *Service) Upload(ctx context.Context, p *authn.Principal, contentType string, body io.Reader) (t *Track, err error) {
	mt, params, perr := mime.ParseMediaType(contentType)
	if perr != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, httpx.NewError(415, "unsupported_media_type", "send the upload as multipart/form-data")
	}
	up := &upload{id: uuid.Must(uuid.NewV7()), fields: map[string]string{}}
	defer func() {
		if err != nil && up.key != "" {
			if derr := s.files.Delete(context.WithoutCancel(ctx), up.key); derr != nil {
				s.log.Warn("could not remove a refused upload", zap.String("key", up.key), zap.Error(derr))
			}
		}
	}()
	form := newFormBody(body, params["boundary"])
	if err := s.readParts(ctx, multipart.NewReader(form, params["boundary"]), up); err != nil {
		return nil, err
	}
	if err := form.finish(); err != nil {
		return nil, s.readErr(err)
	}
	if up.key == "" {
		return nil, httpx.Invalid(httpx.FieldError{Field: "file", Message: "is required"})
	}
	return s.create(ctx, p, up)
}

// readParts reads the form's parts into up, storing the file.
func (s *Service) readParts(ctx context.Context, mr *multipart.Reader, up *upload) error {
	for {
		part, err := mr.NextPart()
		if err == io.EOF { // bare: the closing boundary came (formBody checks it did)
			return nil
		}
		if err != nil {
			return s.readErr(err)
		}
		if err := s.readPart(ctx, part, up); err != nil {
			return err
		}
		_ = part.Close() // a body cut here fails the next NextPart
	}
}

// maxField bounds a form field other than the file.
const maxField = 16 << 10

func (s *Service) readPart(ctx context.Context, part *multipart.Part, up *upload) error {
	name := part.FormName()
	switch {
	case name == "file":
		if up.key != "" {
			return httpx.Invalid(httpx.FieldError{Field: "file", Message: "send one file"})
		}
		return s.storeFile(ctx, up, part)
	case formFields[name]:
		v, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			return s.readErr(err)
		}
		if len(v) > maxField {
			return httpx.Invalid(httpx.FieldError{Field: name, Message: "too long"})
		}
		if name == "tags" {
			up.tags = append(up.tags, splitTags(string(v))...)
		} else {
			up.fields[name] = string(v)
		}
		return nil
	default:
		return httpx.Invalid(httpx.FieldError{Field: name, Message: "unknown field"})
	}
}

func splitTags(v string) []string {
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// readErr answers a failure to read the body: the answer it already is (a
// stall), 413 past the size cap, the handler's deadline as it is, and 400
// malformed_body for anything else the client sent wrong, never a 500.
func (s *Service) readErr(err error) error {
	var he *httpx.Error
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, errTooLarge):
		return httpx.NewError(413, "body_too_large", fmt.Sprintf("uploads are limited to %d MB", s.settings.MaxUploadMB))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return httpx.BadRequest("malformed_body", "the body ended before the form did; nothing was kept, send it again")
	}
	return httpx.BadRequest("malformed_body", "the multipart body could not be read; nothing was kept")
}

var errTooLarge = errors.New("upload too large")

// capped fails with errTooLarge once more than max bytes were read.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

// storeFile sniffs the file's first bytes (reading past ID3 tags with cover
// art when it must) and streams it to storage.
func (s *Service) storeFile(ctx context.Context, up *upload, part io.Reader) error {
	src := &sourceReader{r: part}
	format, body, ok, err := audio.SniffReader(src)
	if err == nil {
		err = src.err // the sniffer takes a file cut short for a short file
	}
	if err != nil {
		return s.readErr(err)
	}
	if !ok {
		return httpx.NewError(415, "unsupported_format", "the file is not MP3, FLAC, WAV, OGG or M4A/AAC audio")
	}
	up.format = format
	key := fmt.Sprintf("%s/%s%s", up.id.String()[:2], up.id, format.Ext())
	obj, err := s.files.Put(ctx, key, &capped{r: body, left: s.settings.maxUpload()}, -1, format.ContentType())
	if err != nil {
		return s.storeErr(up, src, err)
	}
	up.key, up.size = key, obj.Size
	return nil
}

// storeErr tells why Put failed: the body (the client's doing) or storage
// (ours).
func (s *Service) storeErr(up *upload, src *sourceReader, err error) error {
	switch {
	case src.err != nil:
		return s.readErr(src.err)
	case errors.Is(err, errTooLarge):
		return s.readErr(errTooLarge)
	}
	var he *httpx.Error
	if errors.As(err, &he) {
		return he
	}
	return fmt.Errorf("store upload %s: %w", up.id, err)
}

// sourceReader remembers the first error its reader returned other than
// io.EOF: whatever wraps the file part (the sniffer, the size cap, the
// store) then cannot hide a body that broke behind an error of its own.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// scan runs the virus scan: an infected file is refused; clamd down refuses
// when CLAMAV_REQUIRED, else the track is marked unscanned.
func (s *Service) scan(ctx context.Context, up *upload) (string, error) {
	if s.scanner == nil {
		return "unscanned", nil
	}
	r, err := s.files.Open(ctx, up.key)
	if err != nil {
		return "", fmt.Errorf("open upload for scanning: %w", err)
	}
	defer r.Close()
	res, err := s.scanner.Scan(ctx, r)
	switch {
	case err == nil && res.Clean:
		return "clean", nil
	case err == nil:
		s.log.Warn("infected upload refused", zap.String("virus", res.Virus), zap.String("track_id", up.id.String()))
		return "", httpx.NewError(422, "infected_file", "the file contains malware ("+res.Virus+") and was deleted")
	case errors.Is(err, clamav.ErrTooLarge):
		return "", httpx.NewError(413, "body_too_large", "the file is larger than the virus scanner accepts")
	case s.settings.ClamAVRequired:
		return "", httpx.Unavailable("scanner_unavailable", "the virus scanner is unavailable; uploads are paused", err)
	default:
		s.log.Warn("virus scanner unavailable; upload accepted unscanned", zap.Error(err))
		return "unscanned", nil
	}
}

// create validates the fields and records the track, its event and its
// processing job in one transaction (the job goes through the outbox, so
// an upload succeeds while Redis is down).
func (s *Service) create(ctx context.Context, p *authn.Principal, up *upload) (*Track, error) {
	t := &Track{ID: up.id, OwnerID: p.UserID, Visibility: "public", Tags: pq.StringArray{}, Format: string(up.format),
		ContentType: up.format.ContentType(), SizeBytes: up.size, StorageKey: up.key}
	in := MetaInput{}
	title := up.fields["title"]
	in.Title = &title
	for name, dst := range map[string]**string{"description": &in.Description, "genre": &in.Genre, "visibility": &in.Visibility} {
		if v, ok := up.fields[name]; ok {
			*dst = &v
		}
	}
	if up.tags != nil {
		in.Tags = &up.tags
	}
	if _, err := in.apply(t); err != nil {
		return nil, err
	}
	scan, err := s.scan(ctx, up)
	if err != nil {
		return nil, err
	}
	t.ScanStatus = scan
	s.owners.ensure(ctx, t.OwnerID)
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := s.store.insertTrack(ctx, tx, t); err != nil {
			return err
		}
		if err := s.queue.EnqueueTx(ctx, tx, ProcessJob, 1, trackJob{TrackID: t.ID}, jobs.TaskID("process:"+t.ID.String())); err != nil {
			return err
		}
		_, err := s.pub.Publish(ctx, tx, EventTrackCreated, s.event(t), t.OwnerID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
