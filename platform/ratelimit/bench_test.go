package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veza/veza/platform/testkit"
)

// BenchmarkAllow measures Allow from parallel goroutines on one hot key and
// on many keys, without Redis and with a sync loop running against Redis.
func BenchmarkAllow(b *testing.B) {
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	cfg := Config{Limit: 1 << 40, Window: time.Hour}
	run := func(b *testing.B, l *Limiter, many bool) {
		for _, k := range keys {
			l.Allow(k) // existing keys: the measured calls do not insert
		}
		var seed atomic.Uint32
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(7919))
			for pb.Next() {
				k := keys[0]
				if many {
					k = keys[i&(len(keys)-1)]
					i++
				}
				l.Allow(k)
			}
		})
	}
	b.Run("local/existing-key", func(b *testing.B) { run(b, New(cfg, nil, nil), false) })
	b.Run("local/many-keys", func(b *testing.B) { run(b, New(cfg, nil, nil), true) })

	r := testkit.NewRedis(b)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	b.Cleanup(func() { rdb.Close() })
	for _, many := range []bool{false, true} {
		name := "redis-sync/existing-key"
		if many {
			name = "redis-sync/many-keys"
		}
		b.Run(name, func(b *testing.B) {
			l := New(cfg, rdb, nil)
			l.Start()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := l.Stop(ctx); err != nil {
					b.Fatal(err)
				}
			}()
			run(b, l, many)
		})
	}
}
