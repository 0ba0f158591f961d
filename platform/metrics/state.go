package metrics

import (
	"context"
	"database/sql"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/veza/veza/platform/buildinfo"
)

// The gauges below are read when Prometheus scrapes, not kept up to date
// by the code they describe: they cost nothing between scrapes, and a
// scrape sees the state of that moment (pool, queues, outbox).

var (
	buildInfoDesc = prometheus.NewDesc("veza_build_info",
		"Always 1; the labels say which build runs.", []string{"version", "go_version"}, nil)
	dbConnsDesc = prometheus.NewDesc("veza_db_connections",
		"PostgreSQL connections of this process's pool, by state (in_use, idle).", []string{"state"}, nil)
	dbWaitDesc = prometheus.NewDesc("veza_db_wait_seconds_total",
		"Time spent waiting for a free PostgreSQL connection: growth means the pool is too small.", nil, nil)
	dbWaitCountDesc = prometheus.NewDesc("veza_db_waits_total",
		"Times a query waited for a free PostgreSQL connection.", nil, nil)
	queueDesc = prometheus.NewDesc("veza_jobs_queue_size",
		"Tasks in each queue by state (pending, active, scheduled, retry, archived).", []string{"queue", "state"}, nil)
	queueErrDesc = prometheus.NewDesc("veza_jobs_queue_scrape_errors_total",
		"Scrapes that could not read the queues (Redis down).", nil, nil)
	backlogDesc = prometheus.NewDesc("veza_outbox_backlog",
		"Outbox rows (events and jobs) not yet relayed.", nil, nil)
	oldestDesc = prometheus.NewDesc("veza_outbox_oldest_age_seconds",
		"Age of the oldest outbox row not yet relayed; 0 when none. Growth means no relay runs.", nil, nil)
)

// QueueSizes reads the size of each queue by state.
type QueueSizes func(ctx context.Context) (map[string]map[string]int, error)

// Outbox reads the number of rows waiting in the outbox and the age of the
// oldest.
type Outbox func(ctx context.Context) (backlog int64, oldest time.Duration, err error)

// StateSources are where the scrape-time gauges come from; nil parts are
// not reported.
type StateSources struct {
	DB     *sql.DB
	Queues QueueSizes
	Outbox Outbox
}

// WatchState registers the build, pool, queue and outbox gauges, read from
// src at each scrape (bounded by two seconds, so a down Redis or database
// slows a scrape but never hangs it).
func (m *Metrics) WatchState(src StateSources) {
	m.Registry.MustRegister(&stateCollector{src: src})
}

type stateCollector struct {
	src  StateSources
	errs atomic.Int64 // queue scrapes that failed; scrapes may overlap
}

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{buildInfoDesc, dbConnsDesc, dbWaitDesc, dbWaitCountDesc, queueDesc, queueErrDesc, backlogDesc, oldestDesc} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1, buildinfo.String(), runtime.Version())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.src.DB != nil {
		st := s.src.DB.Stats()
		ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(st.InUse), "in_use")
		ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(st.Idle), "idle")
		ch <- prometheus.MustNewConstMetric(dbWaitDesc, prometheus.CounterValue, st.WaitDuration.Seconds())
		ch <- prometheus.MustNewConstMetric(dbWaitCountDesc, prometheus.CounterValue, float64(st.WaitCount))
	}
	if s.src.Queues != nil {
		s.collectQueues(ctx, ch)
	}
	if s.src.Outbox != nil {
		if n, age, err := s.src.Outbox(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n))
			ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age.Seconds())
		}
	}
}

func (s *stateCollector) collectQueues(ctx context.Context, ch chan<- prometheus.Metric) {
	sizes, err := s.src.Queues(ctx)
	if err != nil {
		s.errs.Add(1)
	}
	ch <- prometheus.MustNewConstMetric(queueErrDesc, prometheus.CounterValue, float64(s.errs.Load()))
	for queue, states := range sizes {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), queue, state)
		}
	}
}

var (
	readyDesc = prometheus.NewDesc("veza_ready",
		"1 when every readiness check passes (what /readyz answers 200 for), else 0.", nil, nil)
	depUpDesc = prometheus.NewDesc("veza_dependency_up",
		"1 when the readiness check passes, by check (postgres, redis, a module's storage, a background loop).", []string{"dependency"}, nil)
)

// Readiness runs the readiness checks and reports which pass, by name.
type Readiness func(ctx context.Context) map[string]bool

// WatchReadiness registers veza_ready and veza_dependency_up, running the
// checks at each scrape (bounded like WatchState's sources).
func (m *Metrics) WatchReadiness(run Readiness) {
	m.Registry.MustRegister(readinessCollector(run))
}

type readinessCollector Readiness

func (r readinessCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- readyDesc
	ch <- depUpDesc
}

func (r readinessCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ready := 1.0
	for name, up := range r(ctx) {
		v := 1.0
		if !up {
			v, ready = 0, 0
		}
		ch <- prometheus.MustNewConstMetric(depUpDesc, prometheus.GaugeValue, v, name)
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready)
}
