package social

import (
	"time"

	"github.com/google/uuid"
)

// The answers of the social routes.
type (
	// UserRef is a user as the social lists show them.
	UserRef struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username" doc:"empty for an account no longer shown (banned)"`
	}
	// LikeView answers a like.
	LikeView struct {
		TrackID   uuid.UUID `json:"track_id"`
		Liked     bool      `json:"liked"`
		LikeCount int64     `json:"like_count" doc:"the track's likes, this one included"`
	}
	// LikerView is one like of GET /tracks/:id/likes.
	LikerView struct {
		User      UserRef   `json:"user"`
		CreatedAt time.Time `json:"created_at" doc:"when the user liked the track"`
	}
	// FollowView answers a follow.
	FollowView struct {
		UserID         uuid.UUID `json:"user_id" doc:"the followed user"`
		Following      bool      `json:"following"`
		FollowersCount int64     `json:"followers_count" doc:"the followed user's followers, the caller included"`
	}
	// FollowerView is one user of the followers and following pages.
	FollowerView struct {
		User      UserRef   `json:"user"`
		CreatedAt time.Time `json:"created_at" doc:"when the follow began"`
	}
	// CommentView is a comment. Body is plain text as the author wrote it:
	// render it as text, never as HTML.
	CommentView struct {
		ID        uuid.UUID `json:"id"`
		TrackID   uuid.UUID `json:"track_id"`
		UserID    uuid.UUID `json:"user_id"`
		User      UserRef   `json:"user"`
		Body      string    `json:"body" doc:"plain text; may hold markup, which is text"`
		AtMS      *int64    `json:"at_ms" doc:"the position in the track the comment is about, in milliseconds; null: the whole track"`
		CreatedAt time.Time `json:"created_at"`
	}
	// NotificationView is one notification.
	NotificationView struct {
		ID        uuid.UUID  `json:"id"`
		Type      string     `json:"type" doc:"track.liked, comment.created or user.followed"`
		Actor     UserRef    `json:"actor" doc:"who liked, commented or followed"`
		Target    Target     `json:"target"`
		ReadAt    *time.Time `json:"read_at"`
		CreatedAt time.Time  `json:"created_at"`
	}
	// Target is what a notification is about.
	Target struct {
		Type    string     `json:"type" doc:"track (a like), comment or user (a follow: the recipient)"`
		ID      uuid.UUID  `json:"id"`
		TrackID *uuid.UUID `json:"track_id" doc:"the track liked or commented; null for a follow"`
	}
	// ChatTokenView answers POST /chat/token.
	ChatTokenView struct {
		Token     string `json:"token" doc:"an HS256 JWT with aud veza-chat, sub, username, role and exp; the API refuses it"`
		ExpiresIn int    `json:"expires_in" doc:"seconds"`
		WSURL     string `json:"ws_url"`
	}
)

// The request bodies.
type (
	// CommentInput is the body of POST /tracks/:id/comments.
	CommentInput struct {
		Body string `json:"body" validate:"required" doc:"1 to 2000 characters of plain text"`
		AtMS *int64 `json:"at_ms" doc:"a position in the track, 0 to its duration_ms"`
	}
	// ReadInput is the body of POST /notifications/read.
	ReadInput struct {
		IDs []string `json:"ids" doc:"the notifications to mark read (others' ids are ignored); absent or null: all of the caller's; empty: none"`
	}
)
