package tracks

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

type handler struct {
	svc *Service
}

// uploadTimeout bounds a whole upload or download; stalls end them sooner.
const uploadTimeout = 30 * time.Minute

// TrackView is a track as the API shows it; other modules show tracks in
// the same shape.
type TrackView = tracksapi.Track

func view(t *Track) TrackView {
	tags := []string(t.Tags)
	if tags == nil {
		tags = []string{}
	}
	return TrackView{ID: t.ID, OwnerID: t.OwnerID, Owner: owner(t), Title: t.Title, Description: t.Description, Genre: t.Genre, Tags: tags,
		Visibility: t.Visibility, Status: t.Status, Error: t.Error, Format: t.Format, SizeBytes: t.SizeBytes,
		DurationMS: t.DurationMS, SampleRate: t.SampleRate, Channels: t.Channels, BitrateKbps: t.BitrateKbps,
		ScanStatus: t.ScanStatus, Plays: t.Plays, LikeCount: t.Likes, CommentCount: t.Comments, StreamURL: app.APIPrefix + "/tracks/" + t.ID.String() + "/stream",
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

// owner is what a track shows of its owner: empty fields while the module
// has no copy of the owner's profile.
func owner(t *Track) tracksapi.Owner {
	return tracksapi.Owner{ID: t.OwnerID, Username: t.OwnerUsername, DisplayName: t.OwnerDisplayName, AvatarURL: t.OwnerAvatarURL}
}

func (h *handler) routes(r *app.Registrar, s *Settings) {
	opt := app.OptionalAuthentication()
	r.Get("/tracks", h.list, app.Summary("public tracks: ?q= text, ?genre=, ?user_id=, ?sort=new|popular; keyset pages"),
		app.QueryParam("q", "full-text search over title, genre, tags and description", false,
			map[string]any{"type": "string", "maxLength": 200}),
		app.Query("genre", "genre, any letter case", false), app.QueryUUID("user_id", "only this owner's public tracks"),
		app.QueryEnum("sort", "new (the default: newest first) or popular (most played first)", "new", "popular"), app.Paged(),
		app.Response(200, "a page of tracks", httpx.PageData[TrackView]{}))
	r.Post("/tracks", h.upload, app.RequireRoles(s.UploadRoles...), app.StreamBody(s.maxUpload()+1<<20),
		app.StallTimeout(s.UploadStallTimeout), app.HandlerTimeout(uploadTimeout),
		app.Summary("upload a track (multipart: file, title, genre, description, visibility, tags)"),
		app.RequestContentType("multipart/form-data", map[string]any{"type": "object", "required": []string{"file", "title"},
			"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary"}, "title": map[string]any{"type": "string"},
				"genre": map[string]any{"type": "string"}, "description": map[string]any{"type": "string"},
				"visibility": map[string]any{"type": "string", "enum": []string{"public", "private", "unlisted"}},
				"tags":       map[string]any{"type": "string", "description": "comma-separated"}}}),
		app.Response(201, "the track, status processing", TrackView{}))
	r.Get("/tracks/shared/:token", h.shared, app.SecretParam("token"),
		app.Summary("the track behind a live share link; its stream_url plays through the link"), app.Response(200, "the track", TrackView{}))
	r.Delete("/tracks/share/:id", h.revokeShare, app.Authenticated(), app.Summary("revoke a share link (owner)"),
		app.Response(204, "revoked", nil))
	r.Get("/tracks/:id", h.get, opt, app.Summary("a track (private ones: owner and admins only)"), app.Response(200, "the track", TrackView{}))
	r.Get("/tracks/:id/status", h.status, opt, app.Summary("processing status"), app.Response(200, "the status", StatusView{}))
	r.Get("/tracks/:id/waveform", h.waveform, opt, app.Summary("waveform peaks"), app.Response(200, "the peaks", WaveformView{}),
		app.Response(409, "not_ready (still processing, or failed), or waveform_unavailable (a format that is not decoded)", nil))
	r.Put("/tracks/:id", h.update, app.Authenticated(), app.Summary("change metadata (owner or admin); recorded in the history"),
		app.RequestBody(MetaInput{}), app.Response(200, "the track", TrackView{}))
	r.Delete("/tracks/:id", h.delete, app.Authenticated(), app.Summary("delete a track (owner or admin); its file is removed by a job"),
		app.Response(204, "deleted", nil))
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		name := func(n string) app.RouteOption {
			if method == http.MethodHead {
				n = "head" + strings.ToUpper(n[:1]) + n[1:]
			}
			return app.OperationID(n)
		}
		r.Handle(method, "/tracks/:id/stream", h.stream, opt, name("stream"), app.Summary(rangeSummary("the audio")), fileAnswers())
		r.Handle(method, "/tracks/shared/:token/stream", h.sharedStream, app.SecretParam("token"), name("sharedStream"),
			app.Summary(rangeSummary("the audio of the track behind a live share link, for anyone who has it")), fileAnswers())
		r.Handle(method, "/tracks/:id/download", h.download, app.Authenticated(), app.HandlerTimeout(uploadTimeout), name("download"),
			app.Summary(rangeSummary("the original file as an attachment (owner)")), fileAnswers())
	}
	r.Get("/tracks/:id/stats", h.stats, opt, app.Summary("plays, likes, comments, downloads"), app.Response(200, "the counts", StatsView{}))
	r.Get("/tracks/:id/history", h.history, app.Authenticated(), app.Summary("metadata change history (owner or admin), newest first"),
		app.Paged(), app.Response(200, "a page of edits", httpx.PageData[HistoryView]{}))
	r.Post("/tracks/:id/share", h.share, app.Authenticated(),
		app.Summary("make a share link (owner); expires_in: whole seconds from 1 to max_share_ttl, absent: max_share_ttl"),
		app.RequestBody(ShareInput{}), app.Response(201, "the link", ShareView{}))
	r.Post("/internal/tracks/:id/stream-ready", h.streamReady, app.Summary("stream server callback (X-Internal-API-Key)"),
		app.InternalKey(), app.Response(200, "the track is ready", ReadyView{}))
}

// rangeSummary documents a file route: GET and HEAD (the same answer
// without its body) take one byte range.
func rangeSummary(what string) string {
	return what + "; one Range answers 206, a range past the end 416, several or a malformed one the whole file"
}

// fileAnswers documents a file route's headers and answers: the bytes
// whole or ranged, 304 for a copy still fresh, 416 for a range past the
// end, 302 to a presigned URL when the files are on S3.
func fileAnswers() app.RouteOption {
	return func(rt *app.Route) {
		app.Header("Range", "bytes=first-last, bytes=first- or bytes=-suffix", false)(rt)
		app.Header("If-Range", "the ETag (or Last-Modified) of the copy the range completes", false)(rt)
		app.Header("If-None-Match", "ETags of copies the client holds", false)(rt)
		app.BinaryResponse(200, "the whole file", audioTypes...)(rt)
		app.BinaryResponse(206, "the range asked for (Content-Range says which)", audioTypes...)(rt)
		app.Response(302, "the file is on S3: follow Location, a presigned URL", nil)(rt)
		app.Response(304, "the client's copy is current", nil)(rt)
		app.Response(409, "not_ready: the track is still processing, or failed", nil)(rt)
		app.Response(416, "range_not_satisfiable: no byte of the file is in the range", nil)(rt)
	}
}

// audioTypes are the media types tracks are served as.
var audioTypes = []string{"audio/mpeg", "audio/flac", "audio/wav", "audio/ogg", "audio/mp4", "audio/aac", "application/octet-stream"}

// trackID reads :id; a malformed id names no track.
func trackID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, errTrackNotFound
	}
	return id, nil
}

// track loads the track of :id that the caller may see.
func (h *handler) track(c *fiber.Ctx) (*Track, error) {
	id, err := trackID(c)
	if err != nil {
		return nil, err
	}
	return h.svc.visible(c.UserContext(), authn.FromCtx(c), id)
}

func (h *handler) list(c *fiber.Ctx) error {
	req, err := page.Read[listCursor](c)
	if err != nil {
		return err
	}
	f := listFilter{Query: strings.TrimSpace(c.Query("q")), Genre: strings.TrimSpace(c.Query("genre"))}
	switch c.Query("sort", "new") {
	case "new":
	case "popular":
		f.Popular = true
	default:
		return httpx.BadRequest("bad_sort", "sort must be new or popular")
	}
	if len(f.Query) > 200 {
		return httpx.BadRequest("bad_query", "q is at most 200 characters")
	}
	if u := c.Query("user_id"); u != "" {
		id, err := uuid.Parse(u)
		if err != nil {
			return httpx.BadRequest("bad_user_id", "user_id must be a UUID")
		}
		f.OwnerID = &id
	}
	list, next, err := h.svc.List(c.UserContext(), f, req)
	if err != nil {
		return err
	}
	out := make([]TrackView, len(list))
	for i := range list {
		out[i] = view(&list[i])
	}
	return httpx.Page(c, out, next)
}

func (h *handler) upload(c *fiber.Ctx) error {
	p := authn.FromCtx(c)
	release, err := h.svc.TryUpload(p)
	if err != nil {
		httpx.DiscardBody(c)
		return err
	}
	defer release()
	t, err := h.svc.Upload(c.UserContext(), p, string(c.Request().Header.ContentType()), httpx.Body(c))
	if err != nil {
		httpx.DiscardBody(c)
		return err
	}
	return httpx.Created(c, view(t))
}

func (h *handler) get(c *fiber.Ctx) error {
	t, err := h.track(c)
	if err != nil {
		return err
	}
	return httpx.OK(c, view(t))
}

func (h *handler) status(c *fiber.Ctx) error {
	t, err := h.track(c)
	if err != nil {
		return err
	}
	return httpx.OK(c, StatusView{Status: t.Status, DurationMS: t.DurationMS, Format: t.Format, Error: t.Error})
}

func (h *handler) waveform(c *fiber.Ctx) error {
	t, err := h.track(c)
	if err != nil {
		return err
	}
	if t.Status != "ready" {
		return httpx.Conflict("not_ready", "the track is "+t.Status)
	}
	peaks, err := h.svc.store.peaks(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	if peaks == nil {
		return httpx.Conflict("waveform_unavailable", "no waveform is computed for "+t.Format+" files")
	}
	return httpx.OK(c, WaveformView{Points: peaks, DurationMS: t.DurationMS})
}

func (h *handler) update(c *fiber.Ctx) error {
	id, err := trackID(c)
	if err != nil {
		return err
	}
	var in MetaInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	t, err := h.svc.Update(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.OK(c, view(t))
}

func (h *handler) delete(c *fiber.Ctx) error {
	id, err := trackID(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) stats(c *fiber.Ctx) error {
	t, err := h.track(c)
	if err != nil {
		return err
	}
	return httpx.OK(c, StatsView{Plays: t.Plays, Likes: t.Likes, Comments: t.Comments, Downloads: t.Downloads,
		LikeCount: t.Likes, CommentCount: t.Comments})
}

func (h *handler) history(c *fiber.Ctx) error {
	id, err := trackID(c)
	if err != nil {
		return err
	}
	req, err := page.Read[int64](c)
	if err != nil {
		return err
	}
	list, next, err := h.svc.History(c.UserContext(), authn.FromCtx(c), id, req)
	if err != nil {
		return err
	}
	out := make([]HistoryView, len(list))
	for i, e := range list {
		out[i] = historyView(e)
	}
	return httpx.Page(c, out, next)
}

func (h *handler) share(c *fiber.Ctx) error {
	id, err := trackID(c)
	if err != nil {
		return err
	}
	var in ShareInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	sh, err := h.svc.CreateShare(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.Created(c, sh)
}

// shared shows the track behind a live link. Its stream_url is the link's
// own stream, which plays for whoever holds the link, even a private track
// and an anonymous recipient.
func (h *handler) shared(c *fiber.Ctx) error {
	token := c.Params("token")
	t, err := h.svc.Shared(c.UserContext(), token)
	if err != nil {
		return err
	}
	v := view(t)
	v.StreamURL = app.APIPrefix + "/tracks/shared/" + url.PathEscape(token) + "/stream"
	return httpx.OK(c, v)
}

func (h *handler) revokeShare(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return httpx.NotFound("share link not found")
	}
	if err := h.svc.RevokeShare(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) streamReady(c *fiber.Ctx) error {
	key := h.svc.settings.InternalAPIKey
	given := c.Get("X-Internal-API-Key")
	if key == "" || subtle.ConstantTimeCompare([]byte(given), []byte(key)) != 1 {
		return httpx.Unauthorized("invalid_api_key", "a valid X-Internal-API-Key is required")
	}
	id, err := trackID(c)
	if err != nil {
		return err
	}
	if err := h.svc.MarkReady(c.UserContext(), id); err != nil {
		return err
	}
	return httpx.OK(c, ReadyView{Status: "ready"})
}
