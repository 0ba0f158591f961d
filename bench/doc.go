// Package bench measures what Veza costs on top of the libraries it is built
// on, as ratios against a baseline measured in the same run on loopback:
//
//   - BenchmarkHealth and BenchmarkHealthRatio: requests per second through
//     Veza's whole HTTP middleware stack against a bare Fiber app answering
//     the same bytes, driven by the same in-process fasthttp load generator;
//   - BenchmarkEvents and BenchmarkEventsRatio: events per second from
//     outbox publish (one transaction per event) to subscriber handler,
//     against raw asynq enqueue to handler on a private Redis;
//   - BenchmarkMailRequests: latency of the password reset and resend
//     verification requests for an address without an account over that for
//     an address with one, which must be 1: the requests do the same work;
//   - BenchmarkEventsWhatIf (only with BENCH_WHATIF=1): the relay change
//     docs/performance.md proposes, emulated through the exported API, and
//     the rate at which the publishers alone commit outbox rows.
//
// The package holds benchmarks only; `go test` without -bench runs nothing.
// They need PostgreSQL and redis-server like the other tests (see
// platform/testkit). docs/performance.md gives the commands, the knobs
// (BENCH_* environment variables) and the figures measured.
package bench
