package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/metrics"
)

// wireMetricsServer serves /metrics on METRICS_ADDR, a listener of its own,
// in every serving process (workers too: their job metrics exist nowhere
// else). Production keeps it off the API port, which the public reaches.
func (r *Runtime) wireMetricsServer(lc fx.Lifecycle, m *metrics.Metrics) {
	addr, _ := r.cfg.MetricsListener()
	if addr == "" || r.role == 0 {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("metrics: listen on METRICS_ADDR %s: %w", addr, err)
			}
			r.addrMu.Lock()
			r.metricsAddr = ln.Addr().String()
			r.addrMu.Unlock()
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					r.log.Error("metrics server stopped", zap.Error(err))
				}
			}()
			return nil
		},
		OnStop: srv.Shutdown,
	})
}

// MetricsAddr is where the process serves /metrics on a listener of its
// own, once started; "" when /metrics is on the API port or off.
func (r *Runtime) MetricsAddr() string {
	r.addrMu.Lock()
	defer r.addrMu.Unlock()
	return r.metricsAddr
}
