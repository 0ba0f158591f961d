package tracks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/audio"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/storage"
)

// The module's jobs.
const (
	ProcessJob    = "tracks:process"
	DeleteFileJob = "tracks:delete_file"
	CountPlayJob  = "tracks:count_play"
)

type trackJob struct {
	TrackID uuid.UUID `json:"track_id"`
}

type fileJob struct {
	Key string `json:"key"`
}

type playJob struct {
	TrackID  uuid.UUID `json:"track_id"`
	Listener string    `json:"listener"`
	Window   time.Time `json:"window"`
}

// process reads the audio's real duration, sample rate, channels and
// bitrate and computes its waveform. It is idempotent: a track no longer
// processing is left alone. A file that cannot be decoded fails the track
// with the reason; a storage error is retried.
func (s *Service) process(ctx context.Context, t *asynq.Task) error {
	var job trackJob
	if _, err := jobs.Decode(t, &job); err != nil {
		return err
	}
	tr, err := s.store.track(ctx, s.db, job.TrackID, false)
	if errors.Is(err, errNotFound) {
		return nil // deleted before it was processed
	}
	if err != nil {
		return err
	}
	if tr.Status != "processing" {
		return nil
	}
	r, err := s.files.Open(ctx, tr.StorageKey)
	if errors.Is(err, storage.ErrNotFound) {
		return s.finish(ctx, tr, nil, "the uploaded file is missing from storage")
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", tr.StorageKey, err)
	}
	defer r.Close()
	info, err := audio.Analyze(ctx, r, tr.SizeBytes, s.settings.WaveformPoints)
	switch {
	case err == nil, errors.Is(err, audio.ErrUnsupported) && info != nil:
		return s.finish(ctx, tr, &processed{DurationMS: info.DurationMS, SampleRate: info.SampleRate, Channels: info.Channels,
			BitrateKbps: info.BitrateKbps, Peaks: info.Peaks}, "")
	case errors.Is(err, audio.ErrCorrupt), errors.Is(err, audio.ErrUnsupported):
		return s.finish(ctx, tr, nil, "the audio could not be decoded: "+err.Error())
	default:
		return fmt.Errorf("analyze %s: %w", tr.ID, err)
	}
}

func (s *Service) finish(ctx context.Context, tr *Track, p *processed, failure string) error {
	return db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		changed, err := s.store.finish(ctx, tx, tr.ID, p, failure)
		if err != nil || !changed {
			return err
		}
		tr.Status = "ready"
		if failure != "" {
			tr.Status, tr.Error = "failed", &failure
		}
		_, err = s.pub.Publish(ctx, tx, EventTrackProcessed, s.event(tr), tr.OwnerID)
		return err
	})
}

// deleteFile removes a deleted track's file; a missing file is done.
func (s *Service) deleteFile(ctx context.Context, t *asynq.Task) error {
	var job fileJob
	if _, err := jobs.Decode(t, &job); err != nil {
		return err
	}
	if err := storage.ValidKey(job.Key); err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	return s.files.Delete(ctx, job.Key)
}

// countPlay counts a play once per listener, track and window.
func (s *Service) countPlay(ctx context.Context, t *asynq.Task) error {
	var job playJob
	if _, err := jobs.Decode(t, &job); err != nil {
		return err
	}
	_, err := s.store.countPlay(ctx, job.TrackID, job.Listener, job.Window)
	return err
}

// queuePlay asks for a play to be counted, off the request path: a failure
// to queue (Redis down) costs one play, never the stream.
func (s *Service) queuePlay(ctx context.Context, track uuid.UUID, listener string) {
	window := s.now().Truncate(s.settings.PlayWindow).UTC()
	task, err := jobs.NewTask(CountPlayJob, 1, playJob{TrackID: track, Listener: listener, Window: window})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 300*time.Millisecond)
	defer cancel()
	id := fmt.Sprintf("play:%s:%s:%d", track, listener, window.Unix())
	_, err = s.client.EnqueueContext(ctx, task, asynq.Queue("tracks"), asynq.TaskID(id))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		s.log.Debug("play not counted", zap.Error(err))
	}
}
