package social

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/veza/veza/platform/page"
)

// notification is a row of social_notifications.
type notification struct {
	ID        uuid.UUID  `db:"id"`
	UserID    uuid.UUID  `db:"user_id"`
	Type      string     `db:"type"`
	ActorID   uuid.UUID  `db:"actor_id"`
	TrackID   *uuid.UUID `db:"track_id"`
	CommentID *uuid.UUID `db:"comment_id"`
	ReadAt    *time.Time `db:"read_at"`
	CreatedAt time.Time  `db:"created_at"`
}

// stillHolds is the condition, on the insert's parameters, under which a
// notification of typ is made: only while what it tells of still holds
// when its event is handled, so that a like taken back, a comment deleted
// or a follow ended before then notifies nobody.
func stillHolds(typ string) (string, bool) {
	switch typ {
	case "track.liked":
		return `EXISTS (SELECT 1 FROM social_likes WHERE track_id = $5 AND user_id = $4)`, true
	case "comment.created":
		return `EXISTS (SELECT 1 FROM social_comments WHERE id = $6)`, true
	case "user.followed":
		return `EXISTS (SELECT 1 FROM social_follows WHERE follower_id = $4 AND followed_id = $2)`, true
	}
	return "", false
}

// insertNotification stores n unless it is there already (the same event
// delivered again), or told already (a like or follow taken back and made
// again), or no longer true.
func (s *store) insertNotification(ctx context.Context, n *notification) error {
	cond, ok := stillHolds(n.Type)
	if !ok {
		return fmt.Errorf("notification of unknown type %q", n.Type)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO social_notifications (id, user_id, type, actor_id, track_id, comment_id, created_at)
		SELECT $1::uuid, $2::uuid, $3::text, $4::uuid, $5::uuid, $6::uuid, $7::timestamptz WHERE `+cond+`
		ON CONFLICT DO NOTHING`, n.ID, n.UserID, n.Type, n.ActorID, n.TrackID, n.CommentID, n.CreatedAt)
	if err != nil {
		return fmt.Errorf("notify %s of %s: %w", n.UserID, n.Type, err)
	}
	return nil
}

// deleteCommentNotifications removes the notifications of a deleted
// comment.
func (s *store) deleteCommentNotifications(ctx context.Context, comment uuid.UUID) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM social_notifications WHERE comment_id = $1`, comment); err != nil {
		return fmt.Errorf("forget the notifications of comment %s: %w", comment, err)
	}
	return nil
}

const notificationColumns = `id, user_id, type, actor_id, track_id, comment_id, read_at, created_at`

// notifications returns user's notifications, newest first, after the
// cursor.
func (s *store) notifications(ctx context.Context, user uuid.UUID, after *page.TimeID, limit int) ([]notification, error) {
	query, args := keyset(`SELECT `+notificationColumns+` FROM social_notifications WHERE user_id = $1`, "created_at", "id", after, limit, user)
	var out []notification
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", user, err)
	}
	return out, nil
}

// markRead marks user's unread notifications read: those of ids, or all
// when ids is nil. It returns how many it marked.
func (s *store) markRead(ctx context.Context, user uuid.UUID, ids []uuid.UUID) (int64, error) {
	query := `UPDATE social_notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`
	args := []any{user}
	if ids != nil {
		query += ` AND id = ANY($2::uuid[])`
		args = append(args, pq.Array(idStrings(ids)))
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("mark notifications of %s read: %w", user, err)
	}
	return res.RowsAffected()
}
