package hello

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/jobs"
)

// TallyJob counts the greetings of one name into hello_tally. Greet enqueues
// one per greeting, in the greeting's transaction.
const TallyJob = Name + ":tally"

// tallyVersion is the version of tallyPayload; a handler reading an older
// one would branch on it.
const tallyVersion = 1

// tallyPayload is TallyJob's payload.
type tallyPayload struct {
	Name string `json:"name"`
}

// handleTally runs TallyJob. It recounts rather than adds one, so running it
// twice (asynq delivers at least once) does no harm.
func (s *service) handleTally(ctx context.Context, t *asynq.Task) error {
	var p tallyPayload
	if _, err := jobs.Decode(t, &p); err != nil {
		// No retry can make this payload readable.
		return fmt.Errorf("%s: %w: %w", TallyJob, err, asynq.SkipRetry)
	}
	if p.Name == "" {
		return fmt.Errorf("%s: the payload names no one: %w", TallyJob, asynq.SkipRetry)
	}
	return s.store.tally(ctx, p.Name)
}

// TidyJob deletes deliveries older than DeliveryRetention. It is scheduled
// daily; running it twice does no harm.
const TidyJob = Name + ":tidy"

// DeliveryRetention is how long hello_deliveries rows are kept.
const DeliveryRetention = 30 * 24 * time.Hour

// handleTidy runs TidyJob. Its payload is empty.
func (s *service) handleTidy(ctx context.Context, _ *asynq.Task) error {
	n, err := s.store.deleteDeliveriesOlderThan(ctx, DeliveryRetention)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("deleted old deliveries", zap.Int64("rows", n))
	}
	return nil
}
