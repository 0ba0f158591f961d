// Package socialapi is what the social module offers the modules that
// listen to it: the names and payloads of its events. A module never
// imports package social; it subscribes to these events. Tracks keeps a
// track's like and comment counts from them, and auth a user's follower
// and following counts:
//
//	r.Subscribe(socialapi.EventTrackLiked, c.onTrackCounts)
//
// Every event that changes a count carries the new totals, computed in the
// transaction that changed them, and a version that increases with every
// change of that track's (or user's) counts. A copy keeps the totals of the
// highest version it has seen: redeliveries and events out of order then
// change nothing, and concurrent likes converge on the true count without
// a table of delivered event ids. The reconciliation events re-publish the
// totals in batches, so that a copy that lost an event is repaired.
package socialapi

import (
	"time"

	"github.com/google/uuid"
)

// The public events of the social module (listed in the webhook catalogue).
const (
	// EventTrackLiked: a user liked a track. Audience: the track's owner.
	EventTrackLiked = "track.liked"
	// EventTrackUnliked: a user took back their like. Audience: the
	// track's owner.
	EventTrackUnliked = "track.unliked"
	// EventUserFollowed: a user followed another. Audience: the followed
	// user.
	EventUserFollowed = "user.followed"
	// EventCommentCreated: a comment was posted on a track. Audience: the
	// track's owner.
	EventCommentCreated = "comment.created"
	// EventCommentDeleted: a comment was deleted by its author, the
	// track's owner or an admin. Audience: the track's owner.
	EventCommentDeleted = "comment.deleted"
)

// The internal events of the social module: they reach only the modules
// that subscribe to them by name, never webhooks.
const (
	// EventUserUnfollowed: a user stopped following another. Internal:
	// it exists so that follower counts go down; telling someone who
	// stopped following them is not something the product does.
	EventUserUnfollowed = "user.unfollowed"
	// EventTrackCountsReconciled re-publishes the like and comment counts
	// of a batch of tracks (TrackCountsBatch), from the periodic
	// reconciliation.
	EventTrackCountsReconciled = "social.track_counts_reconciled"
	// EventUserCountsReconciled re-publishes the follower and following
	// counts of a batch of users (UserCountsBatch).
	EventUserCountsReconciled = "social.user_counts_reconciled"
)

// TrackCounts are a track's totals as of one change, with that change's
// version: the highest version holds the true totals.
type TrackCounts struct {
	LikeCount    int64 `json:"like_count"`
	CommentCount int64 `json:"comment_count"`
	// CountsVersion increases by one with every change of the track's
	// counts.
	CountsVersion int64 `json:"counts_version"`
}

// LikeEvent is the payload of track.liked and track.unliked.
type LikeEvent struct {
	TrackID      uuid.UUID `json:"track_id"`
	TrackOwnerID uuid.UUID `json:"track_owner_id"`
	// UserID is who liked (or unliked) the track.
	UserID uuid.UUID `json:"user_id"`
	TrackCounts
	At time.Time `json:"at"`
}

// CommentEvent is the payload of comment.created and comment.deleted.
type CommentEvent struct {
	CommentID    uuid.UUID `json:"comment_id"`
	TrackID      uuid.UUID `json:"track_id"`
	TrackOwnerID uuid.UUID `json:"track_owner_id"`
	// UserID is the comment's author.
	UserID uuid.UUID `json:"user_id"`
	Body   string    `json:"body" doc:"plain text, never HTML to render"`
	AtMS   *int64    `json:"at_ms" doc:"the position in the track the comment is about, in milliseconds"`
	// DeletedBy is who deleted the comment (comment.deleted only).
	DeletedBy *uuid.UUID `json:"deleted_by,omitempty"`
	TrackCounts
	At time.Time `json:"at"`
}

// UserCounts are a user's totals as of one change, with that change's
// version.
type UserCounts struct {
	FollowersCount int64 `json:"followers_count"`
	FollowingCount int64 `json:"following_count"`
	// CountsVersion increases by one with every change of the user's
	// counts.
	CountsVersion int64 `json:"counts_version"`
}

// FollowEvent is the payload of user.followed and user.unfollowed: both
// users' counts changed.
type FollowEvent struct {
	FollowerID     uuid.UUID  `json:"follower_id"`
	FollowedID     uuid.UUID  `json:"followed_id"`
	FollowerCounts UserCounts `json:"follower_counts"`
	FollowedCounts UserCounts `json:"followed_counts"`
	At             time.Time  `json:"at"`
}

// TrackCountsEntry is one track of a TrackCountsBatch.
type TrackCountsEntry struct {
	TrackID uuid.UUID `json:"track_id"`
	TrackCounts
}

// TrackCountsBatch is the payload of social.track_counts_reconciled.
type TrackCountsBatch struct {
	Tracks []TrackCountsEntry `json:"tracks"`
}

// UserCountsEntry is one user of a UserCountsBatch.
type UserCountsEntry struct {
	UserID uuid.UUID `json:"user_id"`
	UserCounts
}

// UserCountsBatch is the payload of social.user_counts_reconciled.
type UserCountsBatch struct {
	Users []UserCountsEntry `json:"users"`
}
