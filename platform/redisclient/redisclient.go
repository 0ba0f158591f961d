// Package redisclient opens the process's one Redis client, shared by the job
// queue, the scheduler and the rate limiter.
package redisclient

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veza/veza/platform/config"
)

// Open returns a client for REDIS_URL. It does not connect. Timeouts are short
// so that an outage shows quickly in /readyz instead of stalling callers.
func Open(cfg *config.Config) (redis.UniversalClient, error) {
	// go-redis logs every failed dial through the standard logger; during an
	// outage that is a line per attempt. /readyz and the job server's health
	// check report outages instead.
	redis.SetLogger(quiet{})
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 3 * time.Second
	opts.WriteTimeout = 3 * time.Second
	opts.MaxRetries = 1
	return redis.NewClient(opts), nil
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
