// Package metrics holds the process's Prometheus registry and the platform's
// own series: HTTP requests, jobs and the event outbox. Modules register
// series of their own on Registerer, labelled with their module name.
package metrics

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the registry plus the platform's series.
type Metrics struct {
	// Registry gathers every series served on /metrics.
	Registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	jobs         *prometheus.CounterVec
	jobDuration  *prometheus.HistogramVec
	// OutboxDispatched counts outbox rows turned into tasks, by kind.
	OutboxDispatched *prometheus.CounterVec
	// OutboxErrors counts relay rounds that failed (Redis or PostgreSQL down).
	OutboxErrors prometheus.Counter
	// ScheduledTasks counts periodic tasks enqueued, by type.
	ScheduledTasks *prometheus.CounterVec
	// LoopFailures counts background loops that returned an error or
	// panicked (and were restarted), by module and loop.
	LoopFailures *prometheus.CounterVec
	// LoopUp is 1 while a background loop runs, 0 while it waits to be
	// restarted, by module and loop: alert on it staying 0.
	LoopUp *prometheus.GaugeVec
}

// New makes a registry with the Go and process collectors and the platform's
// series.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veza_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern, module and status.",
		}, []string{"method", "route", "module", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "veza_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and module.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "module"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veza_jobs_processed_total",
			Help: "Background tasks handled, by module, task type and outcome (ok, error).",
		}, []string{"module", "type", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "veza_job_duration_seconds",
			Help:    "Time to handle background tasks, by module and task type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"module", "type"}),
		OutboxDispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veza_outbox_dispatched_total",
			Help: "Outbox rows turned into tasks, by kind (event, job).",
		}, []string{"kind"}),
		OutboxErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veza_outbox_relay_errors_total",
			Help: "Relay rounds that failed and will be retried.",
		}),
		ScheduledTasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veza_scheduled_tasks_total",
			Help: "Periodic tasks enqueued by this process's scheduler, by type.",
		}, []string{"type"}),
		LoopFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veza_background_loop_failures_total",
			Help: "Background loops that failed and were restarted, by module and loop.",
		}, []string{"module", "loop"}),
		LoopUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "veza_background_loop_up",
			Help: "1 while a background loop runs, 0 while it waits to be restarted, by module and loop.",
		}, []string{"module", "loop"}),
	}
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.jobs, m.jobDuration,
		m.OutboxDispatched, m.OutboxErrors, m.ScheduledTasks, m.LoopFailures, m.LoopUp,
	)
	return m
}

// statusText avoids formatting the common status codes on every request.
var statusText = func() map[int]string {
	m := make(map[int]string)
	for s := 100; s < 600; s++ {
		m[s] = strconv.Itoa(s)
	}
	return m
}()

// methods maps request methods to constant strings: Fiber's strings point
// into buffers reused by the next request, and a label value is kept for the
// life of the process.
var methods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "CONNECT": "CONNECT", "TRACE": "TRACE",
}

// ObserveHTTP records one answered request. route and module must be strings
// that outlive the request (the route's pattern); method may not.
func (m *Metrics) ObserveHTTP(method, route, module string, status int, elapsed time.Duration) {
	if canon, ok := methods[method]; ok {
		method = canon
	} else {
		method = "OTHER"
	}
	st, ok := statusText[status]
	if !ok {
		st = strconv.Itoa(status)
	}
	m.httpRequests.WithLabelValues(method, route, module, st).Inc()
	m.httpDuration.WithLabelValues(method, route, module).Observe(elapsed.Seconds())
}

// ObserveJob records one handled task.
func (m *Metrics) ObserveJob(module, taskType string, err error, elapsed time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.jobs.WithLabelValues(module, taskType, outcome).Inc()
	m.jobDuration.WithLabelValues(module, taskType).Observe(elapsed.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}
