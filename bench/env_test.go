package bench

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Knobs, read from the environment so that `make bench` needs no flags.
const (
	envConns       = "BENCH_CONNS"              // HTTP keep-alive connections (and client goroutines)
	envRounds      = "BENCH_ROUNDS"             // alternating rounds of BenchmarkHealthRatio
	envRoundTime   = "BENCH_ROUND_TIME"         // duration of one HTTP round per target
	envEvents      = "BENCH_EVENTS"             // events (tasks) per round / per op of BenchmarkEvents
	envEventRounds = "BENCH_EVENT_ROUNDS"       // alternating rounds of BenchmarkEventsRatio
	envPublishers  = "BENCH_PUBLISHERS"         // goroutines publishing events / enqueueing tasks
	envConcurrency = "BENCH_WORKER_CONCURRENCY" // asynq concurrency on both sides
	envExplain     = "BENCH_EXPLAIN"            // log the plan of BenchmarkTracksList's query
)

func envInt(b testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envDuration(b testing.TB, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration (e.g. 2s)", name, v)
	}
	return d
}
