package tracks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
		version, err := s.store.finish(ctx, tx, tr.ID, p, failure)
		if err != nil || version == nil {
			return err
		}
		tr.Status, tr.UpdatedAt = "ready", *version
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
	// Jobs queued before keys became relative to the module's folder
	// (migration 0002) still carry the folder.
	key := strings.TrimPrefix(job.Key, "tracks/")
	if err := storage.ValidKey(key); err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	return s.files.Delete(ctx, key)
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

// queuePlay asks for a play to be counted without touching the request
// path: it hands the play to a background enqueuer (dropping it when that
// is swamped or Redis is down: a play is worth less than a stream), and
// remembers the plays of the current window so that the many Range requests
// of one listening are queued once.
func (s *Service) queuePlay(track uuid.UUID, listener string) {
	window := s.now().Truncate(s.settings.PlayWindow).UTC()
	if !s.recent.first(track.String()+"|"+listener, window) {
		return
	}
	select {
	case s.plays <- playJob{TrackID: track, Listener: listener, Window: window}:
	default:
		s.log.Debug("play dropped: the play queue is full")
	}
}

// queuePlays hands the plays streams report to the queue until ctx ends,
// then flushes what is still buffered for at most a second. It runs in API
// processes, under the platform's lifecycle.
func (s *Service) queuePlays(ctx context.Context) error {
	for {
		select {
		case p := <-s.plays:
			s.enqueuePlay(ctx, p)
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			for {
				select {
				case p := <-s.plays:
					s.enqueuePlay(flush, p)
				default:
					return nil
				}
			}
		}
	}
}

func (s *Service) enqueuePlay(ctx context.Context, p playJob) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	id := fmt.Sprintf("play:%s:%s:%d", p.TrackID, p.Listener, p.Window.Unix())
	err := s.queue.Enqueue(ctx, CountPlayJob, 1, p, jobs.TaskID(id))
	if err != nil && !errors.Is(err, jobs.ErrDuplicate) {
		s.log.Debug("play not counted", zap.Error(err))
	}
}

// seenPlays remembers which listenings of the current window were queued.
type seenPlays struct {
	mu     sync.Mutex
	window time.Time
	keys   map[string]struct{}
}

// first reports whether key is new in window, forgetting older windows.
func (p *seenPlays) first(key string, window time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !window.Equal(p.window) || len(p.keys) > 1_000_000 {
		p.window, p.keys = window, map[string]struct{}{}
	}
	if _, ok := p.keys[key]; ok {
		return false
	}
	p.keys[key] = struct{}{}
	return true
}
