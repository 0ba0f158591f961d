package auth_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/events"
)

// subscription returns auth's handler of eventType.
func (e *env) subscription(t testing.TB, eventType string) events.Handler {
	t.Helper()
	for _, s := range e.Runtime.Contributions().Subscriptions {
		if s.Module == "auth" && s.EventType == eventType {
			return s.Handler
		}
	}
	t.Fatalf("auth does not subscribe to %s", eventType)
	return nil
}

func socialEvent(t testing.TB, typ string, payload any) events.Event {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{ID: uuid.Must(uuid.NewV7()), Type: typ, Module: "social", Payload: b, CreatedAt: time.Now()}
}

// A profile shows the follow counts of the social module's events, of the
// highest version delivered per user: repeats and events out of order change
// nothing, and a reconciliation batch repairs a copy that missed events.
func TestProfileFollowCountsFromSocialEvents(t *testing.T) {
	e := start(t, nil)
	ann := e.register(t, "ann", "ann@example.com", strongPassword)
	bob := e.register(t, "bob", "bob@example.com", strongPassword)
	annID, bobID := uuid.MustParse(ann.ID), uuid.MustParse(bob.ID)
	followed := e.subscription(t, socialapi.EventUserFollowed)
	unfollowed := e.subscription(t, socialapi.EventUserUnfollowed)
	reconciled := e.subscription(t, socialapi.EventUserCountsReconciled)
	type counts struct {
		Followers int64 `json:"followers_count"`
		Following int64 `json:"following_count"`
	}
	shows := func(id, username string, want counts) {
		t.Helper()
		var byID, byName counts
		e.Do(t, "GET", "/api/v1/users/"+id, nil).Status(t, 200).Data(t, &byID)
		e.Do(t, "GET", "/api/v1/users/by-username/"+username, nil).Status(t, 200).Data(t, &byName)
		if byID != want || byName != want {
			t.Fatalf("%s shows %+v (by username %+v), want %+v", username, byID, byName, want)
		}
	}
	follow := func(typ string, annFollowing, bobFollowers, annVersion, bobVersion int64) events.Event {
		return socialEvent(t, typ, socialapi.FollowEvent{FollowerID: annID, FollowedID: bobID,
			FollowerCounts: socialapi.UserCounts{FollowingCount: annFollowing, CountsVersion: annVersion},
			FollowedCounts: socialapi.UserCounts{FollowersCount: bobFollowers, CountsVersion: bobVersion}})
	}
	shows(ann.ID, "ann", counts{})
	ctx := context.Background()
	// ann follows bob, unfollows, follows again; the unfollow arrives last
	// and twice: the latest version (the second follow) stands.
	second := follow(socialapi.EventUserFollowed, 1, 1, 3, 3)
	for _, step := range []struct {
		h  events.Handler
		ev events.Event
	}{{followed, second}, {followed, follow(socialapi.EventUserFollowed, 1, 1, 1, 1)},
		{unfollowed, follow(socialapi.EventUserUnfollowed, 0, 0, 2, 2)}, {unfollowed, follow(socialapi.EventUserUnfollowed, 0, 0, 2, 2)}} {
		if err := step.h(ctx, step.ev); err != nil {
			t.Fatal(err)
		}
	}
	shows(ann.ID, "ann", counts{Following: 1})
	shows(bob.ID, "bob", counts{Followers: 1})
	// A lost event leaves bob short: the reconciliation's batch repairs,
	// and an unknown account in it is skipped.
	if _, err := e.Runtime.DB().Exec(`UPDATE auth_follow_counts SET followers_count = 7 WHERE user_id = $1`, bobID); err != nil {
		t.Fatal(err)
	}
	batch := socialEvent(t, socialapi.EventUserCountsReconciled, socialapi.UserCountsBatch{Users: []socialapi.UserCountsEntry{
		{UserID: bobID, UserCounts: socialapi.UserCounts{FollowersCount: 1, CountsVersion: 3}},
		{UserID: uuid.New(), UserCounts: socialapi.UserCounts{FollowersCount: 5, CountsVersion: 1}},
	}})
	if err := reconciled(ctx, batch); err != nil {
		t.Fatal(err)
	}
	shows(bob.ID, "bob", counts{Followers: 1})
}
