package tracks

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/tracks/tracksapi"
)

// The module's events, declared in tracksapi for the modules that listen.
const (
	EventTrackCreated   = tracksapi.EventTrackCreated
	EventTrackProcessed = tracksapi.EventTrackProcessed
	EventTrackUpdated   = tracksapi.EventTrackUpdated
	EventTrackDeleted   = tracksapi.EventTrackDeleted
)

// TrackEvent is the payload of the track events.
type TrackEvent = tracksapi.TrackEvent

func eventTypes() []app.EventType {
	id := uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab")
	owner := uuid.MustParse("0192f0c1-0000-7000-8000-00000000000a")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := TrackEvent{TrackID: id, OwnerID: owner, Title: "Night Drive", Visibility: "public", Status: "processing", At: at}
	done := tr
	done.Status = "ready"
	return []app.EventType{
		{Type: EventTrackCreated, Description: "a track was uploaded; its processing has begun", Example: tr},
		{Type: EventTrackProcessed, Description: "a track's processing ended, ready or failed", Example: done},
		{Type: EventTrackUpdated, Description: "a track's metadata changed", Example: done},
		{Type: EventTrackDeleted, Description: "a track was deleted", Example: done},
	}
}
