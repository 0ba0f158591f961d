package hello

import (
	"context"
	"sync"
	"time"
)

// PopularSize is how many names GET /hello/popular lists.
const PopularSize = 10

// Popular is one of the most greeted names.
type Popular struct {
	Name      string `db:"name" json:"name"`
	Greetings int    `db:"greetings" json:"greetings"`
}

// PopularList is what GET /hello/popular answers.
type PopularList struct {
	Names []Popular `json:"names"`
	// RefreshedAt is when the list was read; null before the first read.
	RefreshedAt *time.Time `json:"refreshed_at"`
}

// popular keeps the most greeted names in memory, so that GET /hello/popular
// costs no query: a background loop reads them again every refresh_every.
//
// The loop runs through Registrar.Background rather than a goroutine of its
// own: the platform starts it once the process starts and cancels it at
// shutdown (after the HTTP server has drained), restarts it with a growing
// delay when a refresh fails, counts the failures on /metrics, and reports it
// on /readyz ("hello.popular") while it is down, so a load balancer stops
// sending traffic to a process serving a list that no longer refreshes.
type popular struct {
	store *store
	every time.Duration

	mu    sync.RWMutex
	names []Popular
	at    time.Time
}

func newPopular(st *store, s *Settings) *popular {
	return &popular{store: st, every: s.RefreshEvery, names: []Popular{}}
}

// run refreshes the list at once, then every p.every until ctx ends. A
// failed refresh returns its error: the platform restarts run after a delay,
// and the list keeps its last value meanwhile.
func (p *popular) run(ctx context.Context) error {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		if err := p.refresh(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (p *popular) refresh(ctx context.Context) error {
	names, err := p.store.mostGreeted(ctx, PopularSize)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.names, p.at = names, time.Now().UTC()
	return nil
}

// list returns the names as last read. The slice is never modified after it
// is stored, so it is shared without a copy.
func (p *popular) list() PopularList {
	p.mu.RLock()
	defer p.mu.RUnlock()
	l := PopularList{Names: p.names}
	if !p.at.IsZero() {
		at := p.at
		l.RefreshedAt = &at
	}
	return l
}
