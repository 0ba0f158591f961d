package hello

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

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
