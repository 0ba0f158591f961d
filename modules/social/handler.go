package social

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	svc   *service
	feed  *feed
	notes *notifier
	chat  *chat
}

func (h *handler) routes(r *app.Registrar) {
	auth := app.Authenticated()
	notFound := func(what string) app.RouteOption { return app.Response(404, what, nil) }
	r.Post("/tracks/:id/like", h.like, auth, app.Summary("like a track; a repeat changes nothing"),
		app.Response(200, "liked (now or before), with the track's like count", LikeView{}),
		notFound("no track the caller may see has this id"))
	r.Delete("/tracks/:id/like", h.unlike, auth, app.Summary("take back a like; without one, nothing changes"),
		app.Response(204, "not liked (any more)", nil), notFound("no track the caller may see has this id"))
	r.Get("/tracks/:id/likes", h.likes, auth, app.Summary("who liked a track, newest first; keyset pages"), app.Paged(),
		app.Response(200, "a page of likes", httpx.PageData[LikerView]{}), notFound("no track the caller may see has this id"))
	r.Post("/users/:id/follow", h.follow, auth, app.Summary("follow a user; a repeat changes nothing"),
		app.Response(200, "following (now or before), with the user's followers count", FollowView{}),
		app.Response(422, "the caller cannot follow themself", nil), notFound("no user has this id"))
	r.Delete("/users/:id/follow", h.unfollow, auth, app.Summary("stop following a user; without a follow, nothing changes"),
		app.Response(204, "not following (any more)", nil), notFound("no user has this id"))
	r.Get("/users/:id/followers", h.followers, app.Summary("who follows a user, newest first; keyset pages"), app.Paged(),
		app.Response(200, "a page of followers", httpx.PageData[FollowerView]{}), notFound("no user has this id"))
	r.Get("/users/:id/following", h.following, app.Summary("whom a user follows, newest first; keyset pages"), app.Paged(),
		app.Response(200, "a page of followed users", httpx.PageData[FollowerView]{}), notFound("no user has this id"))
	r.Get("/tracks/:id/comments", h.comments, app.OptionalAuthentication(),
		app.Summary("a track's comments, newest first; keyset pages"), app.Paged(),
		app.Response(200, "a page of comments", httpx.PageData[CommentView]{}), notFound("no track the caller may see has this id"))
	r.Post("/tracks/:id/comments", h.comment, auth, app.Summary("comment on a track, at a position of it or on the whole"),
		app.Description("body is plain text (1 to 2000 characters), stored as written and never rendered; at_ms is 0 to the track's duration_ms. "+
			"A user posts at most comments_per_window comments per comment_window (20 a minute by default)."),
		app.RequestBody(CommentInput{}), app.Response(201, "the comment", CommentView{}),
		notFound("no track the caller may see has this id"),
		app.Response(429, "too_many_comments: the caller's comment budget is spent until Retry-After", nil))
	r.Delete("/comments/:id", h.deleteComment, auth, app.Summary("delete a comment (its author, the track's owner or an admin)"),
		app.Response(204, "deleted", nil), app.Response(403, "the caller may see the comment but not delete it", nil),
		notFound("no comment the caller may see has this id"))
	r.Get("/feed", h.feedPage, auth, app.Summary("public tracks of the users the caller follows, newest first; keyset pages"),
		app.Description("Items are tracks as GET /tracks shows them, owners included. Empty when the caller follows nobody."),
		app.Paged(), app.Response(200, "a page of tracks", httpx.PageData[tracksapi.Track]{}))
	r.Get("/notifications", h.notifications, auth, app.Summary("the caller's notifications (likes, comments, follows), newest first; keyset pages"),
		app.Paged(), app.Response(200, "a page of notifications", httpx.PageData[NotificationView]{}))
	r.Post("/notifications/read", h.markRead, auth, app.Summary("mark notifications read: those of ids, or all without ids"),
		app.RequestBody(ReadInput{}), app.Response(204, "marked", nil))
	r.Post("/chat/token", h.chatToken, auth, app.Summary("a 5-minute token for the chat WebSocket server"),
		app.Description("An HS256 JWT signed with CHAT_JWT_SECRET (JWT_SECRET when unset), audience veza-chat, carrying sub, username and role. "+
			"The API refuses it as an access token."),
		app.Response(200, "the token and where to use it", ChatTokenView{}))
}

// pathID reads the id path parameter; a malformed one names nothing, so
// it is notFound.
func pathID(c *fiber.Ctx, notFound error) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

func (h *handler) like(c *fiber.Ctx) error {
	id, err := pathID(c, errTrackNotFound)
	if err != nil {
		return err
	}
	v, err := h.svc.Like(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.OK(c, v)
}

func (h *handler) unlike(c *fiber.Ctx) error {
	id, err := pathID(c, errTrackNotFound)
	if err != nil {
		return err
	}
	if err := h.svc.Unlike(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) likes(c *fiber.Ctx) error {
	id, err := pathID(c, errTrackNotFound)
	if err != nil {
		return err
	}
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, next, err := h.svc.Likes(c.UserContext(), authn.FromCtx(c), id, req)
	if err != nil {
		return err
	}
	return httpx.Page(c, list, next)
}

func (h *handler) follow(c *fiber.Ctx) error {
	id, err := pathID(c, errUserNotFound)
	if err != nil {
		return err
	}
	v, err := h.svc.Follow(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.OK(c, v)
}

func (h *handler) unfollow(c *fiber.Ctx) error {
	id, err := pathID(c, errUserNotFound)
	if err != nil {
		return err
	}
	if err := h.svc.Unfollow(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) followers(c *fiber.Ctx) error { return h.followList(c, h.svc.Followers) }

func (h *handler) following(c *fiber.Ctx) error { return h.followList(c, h.svc.Following) }

func (h *handler) followList(c *fiber.Ctx, list func(context.Context, uuid.UUID, page.Request[page.TimeID]) ([]FollowerView, string, error)) error {
	id, err := pathID(c, errUserNotFound)
	if err != nil {
		return err
	}
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	items, next, err := list(c.UserContext(), id, req)
	if err != nil {
		return err
	}
	return httpx.Page(c, items, next)
}

func (h *handler) comments(c *fiber.Ctx) error {
	id, err := pathID(c, errTrackNotFound)
	if err != nil {
		return err
	}
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, next, err := h.svc.Comments(c.UserContext(), authn.FromCtx(c), id, req)
	if err != nil {
		return err
	}
	return httpx.Page(c, list, next)
}

func (h *handler) comment(c *fiber.Ctx) error {
	id, err := pathID(c, errTrackNotFound)
	if err != nil {
		return err
	}
	var in CommentInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	v, err := h.svc.Comment(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		h.rateHeaders(c, err)
		return err
	}
	return httpx.Created(c, v)
}

// rateHeaders describes the comment budget on a refusal for spending it,
// as the platform's X-RateLimit-* headers describe the client's request
// budget elsewhere.
func (h *handler) rateHeaders(c *fiber.Ctx, err error) {
	var he *httpx.Error
	if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
		return
	}
	c.Set("X-RateLimit-Limit", strconv.Itoa(h.svc.limiter.limit))
	c.Set("X-RateLimit-Remaining", "0")
	c.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(he.RetryAfter).Unix(), 10))
}

func (h *handler) deleteComment(c *fiber.Ctx) error {
	id, err := pathID(c, errCommentNotFound)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteComment(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) feedPage(c *fiber.Ctx) error {
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, next, err := h.feed.Page(c.UserContext(), authn.FromCtx(c), req)
	if err != nil {
		return err
	}
	return httpx.Page(c, list, next)
}

func (h *handler) notifications(c *fiber.Ctx) error {
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, next, err := h.notes.Notifications(c.UserContext(), authn.FromCtx(c), req)
	if err != nil {
		return err
	}
	return httpx.Page(c, list, next)
}

func (h *handler) markRead(c *fiber.Ctx) error {
	var in ReadInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	if err := h.notes.MarkRead(c.UserContext(), authn.FromCtx(c), in); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) chatToken(c *fiber.Ctx) error {
	v, err := h.chat.Token(c.UserContext(), authn.FromCtx(c))
	if err != nil {
		return err
	}
	return httpx.OK(c, v)
}
