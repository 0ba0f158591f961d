package social

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/social/socialapi"
)

func eventTypes() []app.EventType {
	track := uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab")
	owner := uuid.MustParse("0192f0c1-0000-7000-8000-00000000000a")
	user := uuid.MustParse("0192f0c1-0000-7000-8000-00000000000b")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	like := socialapi.LikeEvent{TrackID: track, TrackOwnerID: owner, UserID: user, At: at,
		TrackCounts: socialapi.TrackCounts{LikeCount: 12, CommentCount: 3, CountsVersion: 15}}
	atMS := int64(42500)
	comment := socialapi.CommentEvent{CommentID: uuid.MustParse("0192f0c1-7a3b-7cde-8f00-00000000c0de"), TrackID: track,
		TrackOwnerID: owner, UserID: user, Body: "that drop at 0:42", AtMS: &atMS, At: at,
		TrackCounts: socialapi.TrackCounts{LikeCount: 12, CommentCount: 4, CountsVersion: 16}}
	deleted := comment
	deleted.DeletedBy = &owner
	deleted.TrackCounts = socialapi.TrackCounts{LikeCount: 12, CommentCount: 3, CountsVersion: 17}
	follow := socialapi.FollowEvent{FollowerID: user, FollowedID: owner, At: at,
		FollowerCounts: socialapi.UserCounts{FollowersCount: 8, FollowingCount: 31, CountsVersion: 40},
		FollowedCounts: socialapi.UserCounts{FollowersCount: 1204, FollowingCount: 77, CountsVersion: 1300}}
	return []app.EventType{
		{Type: socialapi.EventTrackLiked, Description: "a user liked a track; the payload holds the track's new like and comment counts and their version", Example: like},
		{Type: socialapi.EventTrackUnliked, Description: "a user took back their like of a track; the payload holds the track's new counts", Example: like},
		{Type: socialapi.EventUserFollowed, Description: "a user followed another; the payload holds both users' new follower and following counts", Example: follow},
		{Type: socialapi.EventUserUnfollowed, Description: "a user stopped following another (internal: only for the modules that keep follow counts)", Example: follow, Internal: true},
		{Type: socialapi.EventCommentCreated, Description: "a comment was posted on a track; body is plain text", Example: comment},
		{Type: socialapi.EventCommentDeleted, Description: "a comment was deleted by its author, the track's owner or an admin", Example: deleted},
		{Type: socialapi.EventTrackCountsReconciled, Description: "the periodic reconciliation's like and comment counts of a batch of tracks (internal)",
			Example: socialapi.TrackCountsBatch{Tracks: []socialapi.TrackCountsEntry{{TrackID: track, TrackCounts: like.TrackCounts}}}, Internal: true},
		{Type: socialapi.EventUserCountsReconciled, Description: "the periodic reconciliation's follow counts of a batch of users (internal)",
			Example: socialapi.UserCountsBatch{Users: []socialapi.UserCountsEntry{{UserID: owner, UserCounts: follow.FollowedCounts}}}, Internal: true},
	}
}
