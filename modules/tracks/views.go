package tracks

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// The answers of the tracks routes that are not a track.
type (
	// StatusView is GET /tracks/:id/status.
	StatusView struct {
		Status     string  `json:"status" doc:"processing, ready or failed"`
		DurationMS *int64  `json:"duration_ms"`
		Format     string  `json:"format"`
		Error      *string `json:"error" doc:"why processing failed"`
	}
	// WaveformView is GET /tracks/:id/waveform.
	WaveformView struct {
		Points     []float32 `json:"points" doc:"peaks from 0 to 1, evenly spread over the track"`
		DurationMS *int64    `json:"duration_ms"`
	}
	// StatsView is GET /tracks/:id/stats.
	StatsView struct {
		Plays     int64 `json:"plays"`
		Likes     int64 `json:"likes" doc:"the same as like_count"`
		Comments  int64 `json:"comments" doc:"the same as comment_count"`
		Downloads int64 `json:"downloads"`
		// The names every track shows (tracksapi.Track).
		LikeCount    int64 `json:"like_count"`
		CommentCount int64 `json:"comment_count"`
	}
	// HistoryView is one edit of a track's metadata.
	HistoryView struct {
		ID      int64     `json:"id"`
		ActorID uuid.UUID `json:"actor_id"`
		// Changes maps each changed field to its old and new value.
		Changes map[string]FieldChange `json:"changes"`
		At      time.Time              `json:"at"`
	}
	// FieldChange is a field's value before and after an edit.
	FieldChange struct {
		From any `json:"from"`
		To   any `json:"to"`
	}
	// ReadyView answers the stream server's callback.
	ReadyView struct {
		Status string `json:"status" doc:"ready"`
	}
)

func historyView(e HistoryEntry) HistoryView {
	v := HistoryView{ID: e.ID, ActorID: e.ActorID, At: e.At.UTC(), Changes: map[string]FieldChange{}}
	_ = json.Unmarshal(e.Changes, &v.Changes) // written by this module as such a map
	return v
}
