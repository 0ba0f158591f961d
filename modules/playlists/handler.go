package playlists

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

type handler struct {
	svc *service
}

func (h *handler) routes(r *app.Registrar) {
	auth := app.Authenticated()
	detail := PlaylistDetail{}
	r.Get("/playlists", h.list, app.Summary("public playlists, newest first; keyset pages"),
		app.Query("limit", "1-100", false), app.Query("cursor", "next_cursor", false),
		app.Response(200, "a page of playlists", httpx.PageData[PlaylistView]{}))
	r.Get("/playlists/:id", h.get, app.OptionalAuthentication(),
		app.Summary("a playlist with its ordered tracks (private ones: members and admins only)"),
		app.Response(200, "the playlist", detail))
	r.Post("/playlists", h.create, auth, app.Summary("create a playlist"),
		app.RequestBody(PlaylistInput{}), app.RequestRequires("title"), app.Response(201, "the playlist", detail))
	r.Put("/playlists/:id", h.update, auth, app.Summary("change a playlist's details (owner or admin); absent fields stay"),
		app.RequestBody(PlaylistInput{}), app.Response(200, "the playlist", detail))
	r.Delete("/playlists/:id", h.delete, auth, app.Summary("delete a playlist (owner or admin)"), app.Response(204, "deleted", nil))
	r.Post("/playlists/:id/tracks", h.addTrack, auth,
		app.Summary("add a track at position (clamped to 0..n; absent: at the end) (owner or collaborator)"),
		app.RequestBody(AddTrackInput{}), app.Response(201, "the playlist in its new order", detail),
		app.Response(409, "already_in_playlist, or playlist_full", nil))
	r.Put("/playlists/:id/tracks/order", h.reorder, auth,
		app.Summary("reorder: track_ids is every track of the playlist, in the new order (owner or collaborator)"),
		app.RequestBody(OrderInput{}), app.Response(200, "the playlist in its new order", detail),
		app.Response(409, "playlist_busy: its tracks kept changing while the server tried to apply the order", nil))
	r.Delete("/playlists/:id/tracks/:track_id", h.removeTrack, auth, app.Summary("remove a track (owner or collaborator)"),
		app.Response(204, "removed; the later tracks move up", nil))
	r.Post("/playlists/:id/collaborators", h.addCollaborator, auth, app.Summary("add a collaborator (owner)"),
		app.RequestBody(CollaboratorInput{}), app.Response(201, "the playlist", detail),
		app.Response(409, "already_collaborator, or too_many_collaborators", nil))
	r.Delete("/playlists/:id/collaborators/:user_id", h.removeCollaborator, auth,
		app.Summary("remove a collaborator (owner, or the collaborator themself)"), app.Response(204, "removed", nil))
}

// playlistID reads :id; a malformed one names no playlist.
func playlistID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, errPlaylistNotFound
	}
	return id, nil
}

// idParam reads a path parameter naming something inside a playlist. A
// malformed one becomes the nil id, which names nothing, so that the
// playlist's own checks (404, 403) still come first.
func idParam(c *fiber.Ctx, name string) uuid.UUID {
	id, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil
	}
	return id
}

func (h *handler) list(c *fiber.Ctx) error {
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListPlaylists(c.UserContext(), req)
	if err != nil {
		return err
	}
	out := make([]PlaylistView, len(list))
	for i := range list {
		out[i] = playlistView(&list[i])
	}
	return httpx.Page(c, out, next)
}

func (h *handler) get(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	d, err := h.svc.GetPlaylist(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.OK(c, d)
}

func (h *handler) create(c *fiber.Ctx) error {
	var in PlaylistInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	d, err := h.svc.CreatePlaylist(c.UserContext(), authn.FromCtx(c), in)
	if err != nil {
		return err
	}
	return httpx.Created(c, d)
}

func (h *handler) update(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	var in PlaylistInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	d, err := h.svc.UpdatePlaylist(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.OK(c, d)
}

func (h *handler) delete(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	if err := h.svc.DeletePlaylist(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) addTrack(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	var in AddTrackInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	d, err := h.svc.AddTrack(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.Created(c, d)
}

func (h *handler) removeTrack(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveTrack(c.UserContext(), authn.FromCtx(c), id, idParam(c, "track_id")); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) reorder(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	var in OrderInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	d, err := h.svc.ReorderTracks(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.OK(c, d)
}

func (h *handler) addCollaborator(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	var in CollaboratorInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	d, err := h.svc.AddCollaborator(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.Created(c, d)
}

func (h *handler) removeCollaborator(c *fiber.Ctx) error {
	id, err := playlistID(c)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveCollaborator(c.UserContext(), authn.FromCtx(c), id, idParam(c, "user_id")); err != nil {
		return err
	}
	return httpx.NoContent(c)
}
