package social

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// maxReadIDs bounds the ids of one POST /notifications/read.
const maxReadIDs = 1000

// notifier makes notifications from the module's own events, on workers:
// a like, comment or follow never waits for them. A notification's id is
// its event's, so a redelivered event adds nothing.
type notifier struct {
	store *store
	svc   *service
}

func newNotifier(st *store, svc *service) *notifier { return &notifier{store: st, svc: svc} }

// onTrackLiked tells a track's owner who liked it (not their own likes).
func (n *notifier) onTrackLiked(ctx context.Context, ev events.Event) error {
	var p socialapi.LikeEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.UserID == p.TrackOwnerID {
		return nil
	}
	return n.notify(ctx, ev, &notification{UserID: p.TrackOwnerID, ActorID: p.UserID, TrackID: &p.TrackID})
}

// onCommentCreated tells a track's owner who commented on it.
func (n *notifier) onCommentCreated(ctx context.Context, ev events.Event) error {
	var p socialapi.CommentEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.UserID == p.TrackOwnerID {
		return nil
	}
	return n.notify(ctx, ev, &notification{UserID: p.TrackOwnerID, ActorID: p.UserID, TrackID: &p.TrackID, CommentID: &p.CommentID})
}

// onCommentDeleted takes back the notification of a deleted comment.
func (n *notifier) onCommentDeleted(ctx context.Context, ev events.Event) error {
	var p socialapi.CommentEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	return n.store.deleteCommentNotifications(ctx, p.CommentID)
}

// onUserFollowed tells a user who followed them.
func (n *notifier) onUserFollowed(ctx context.Context, ev events.Event) error {
	var p socialapi.FollowEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	return n.notify(ctx, ev, &notification{UserID: p.FollowedID, ActorID: p.FollowerID})
}

func (n *notifier) notify(ctx context.Context, ev events.Event, note *notification) error {
	if note.UserID == uuid.Nil || note.ActorID == uuid.Nil {
		return fmt.Errorf("%s event %s names no recipient or actor: %w", ev.Type, ev.ID, asynq.SkipRetry)
	}
	note.ID, note.Type, note.CreatedAt = ev.ID, ev.Type, ev.CreatedAt
	return n.store.insertNotification(ctx, note)
}

// Notifications returns a page of p's notifications, newest first.
func (n *notifier) Notifications(ctx context.Context, p *authn.Principal, req page.Request[page.TimeID]) ([]NotificationView, string, error) {
	fetch := func(ctx context.Context, after *page.TimeID, limit int) ([]notification, error) {
		return n.store.notifications(ctx, p.UserID, after, limit)
	}
	list, next, err := page.Fetch(ctx, req, fetch, func(x *notification) page.TimeID { return page.TimeID{At: x.CreatedAt, ID: x.ID} })
	if err != nil {
		return nil, "", err
	}
	actors := make([]uuid.UUID, len(list))
	for i, x := range list {
		actors[i] = x.ActorID
	}
	refs, err := n.svc.refs(ctx, actors)
	if err != nil {
		return nil, "", err
	}
	out := make([]NotificationView, len(list))
	for i := range list {
		out[i] = notificationView(&list[i], refs)
	}
	return out, next, nil
}

func notificationView(x *notification, refs map[uuid.UUID]UserRef) NotificationView {
	v := NotificationView{ID: x.ID, Type: x.Type, Actor: refs[x.ActorID], ReadAt: x.ReadAt, CreatedAt: x.CreatedAt.UTC()}
	switch {
	case x.CommentID != nil:
		v.Target = Target{Type: "comment", ID: *x.CommentID, TrackID: x.TrackID}
	case x.TrackID != nil:
		v.Target = Target{Type: "track", ID: *x.TrackID, TrackID: x.TrackID}
	default:
		v.Target = Target{Type: "user", ID: x.UserID}
	}
	if v.ReadAt != nil {
		at := v.ReadAt.UTC()
		v.ReadAt = &at
	}
	return v
}

// MarkRead marks p's notifications read: those of in.IDs (others' ids
// are ignored), or all of them when ids is absent.
func (n *notifier) MarkRead(ctx context.Context, p *authn.Principal, in ReadInput) error {
	var ids []uuid.UUID
	if in.IDs != nil {
		var v httpx.Checker
		v.Check(len(in.IDs) <= maxReadIDs, "ids", fmt.Sprintf("at most %d ids at once", maxReadIDs))
		ids = make([]uuid.UUID, 0, len(in.IDs))
		for i, raw := range in.IDs {
			id, err := uuid.Parse(raw)
			if err != nil {
				v.Add("ids", fmt.Sprintf("item %d is not a notification id", i))
				break
			}
			ids = append(ids, id)
		}
		if err := v.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
	}
	_, err := n.store.markRead(ctx, p.UserID, ids)
	return err
}
