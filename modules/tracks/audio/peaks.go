package audio

// peaker folds a stream of per-frame amplitudes (a frame being one sample of
// every channel, already mixed by max) into N waveform points without keeping
// the samples.
//
// When the total number of frames T is known up front (WAV, FLAC with a
// sample count, MP3 after its header scan) point i is exactly the maximum of
// frames [ceil(i*T/N), ceil((i+1)*T/N)). Frames beyond T fall into the last
// point; points never reached stay 0.
//
// When T is unknown (a FLAC stream that does not announce its length), the
// frames are folded into between N and 2N equal buckets whose width doubles
// whenever they run out, and mapped onto the N points at the end: each
// point is then exact to within one bucket (at most T/N frames) at its
// edges.
type peaker struct {
	n     int
	total int64 // 0 when unknown
	pos   int64 // frames consumed

	// known total
	out  []float32
	idx  int   // current point
	next int64 // first frame of point idx+1

	// unknown total
	buckets []float32
	width   int64 // frames per bucket
	fill    int64 // frames in the last bucket
}

func newPeaker(n int, total int64) *peaker {
	p := &peaker{n: n, total: total}
	if total > 0 {
		p.out = make([]float32, n)
		p.next = p.boundary(1)
	} else {
		p.buckets = make([]float32, 0, 2*n)
		p.width = 1
	}
	return p
}

// boundary returns the first frame of point i (known total only).
func (p *peaker) boundary(i int) int64 {
	if i >= p.n {
		return 1<<63 - 1
	}
	return (int64(i)*p.total + int64(p.n) - 1) / int64(p.n)
}

// room returns how many frames can be added before the current point or
// bucket is complete, so that decoders can take the max over a run of frames
// in a tight loop and call add once per run.
func (p *peaker) room() int64 {
	if p.total > 0 {
		return max(p.next-p.pos, 1)
	}
	if len(p.buckets) == 0 {
		return p.width
	}
	return max(p.width-p.fill, 1)
}

// add records the maximum amplitude v of the next count frames; count must
// not exceed room().
func (p *peaker) add(v float32, count int64) {
	if !(v >= 0) { // NaN
		v = 0
	}
	v = min(v, 1)
	if p.total > 0 {
		if v > p.out[p.idx] {
			p.out[p.idx] = v
		}
		p.pos += count
		for p.pos >= p.next && p.idx < p.n-1 {
			p.idx++
			p.next = p.boundary(p.idx + 1)
		}
		return
	}
	p.pos += count
	if len(p.buckets) == 0 || p.fill >= p.width {
		if len(p.buckets) == cap(p.buckets) {
			// Merge pairs: half as many buckets, twice as wide.
			half := len(p.buckets) / 2
			for i := range half {
				p.buckets[i] = max(p.buckets[2*i], p.buckets[2*i+1])
			}
			p.buckets = p.buckets[:half]
			p.width *= 2
			// The last kept bucket is full, so a new one is opened below.
		}
		p.buckets = append(p.buckets, 0)
		p.fill = 0
	}
	last := len(p.buckets) - 1
	p.buckets[last] = max(p.buckets[last], v)
	p.fill += count
}

// peaks returns the N points.
func (p *peaker) peaks() []float32 {
	if p.total > 0 {
		// With fewer frames than points some points cover no frame: give
		// them the value of the frame their time falls in.
		if p.total < int64(p.n) {
			out := make([]float32, p.n)
			for i := range out {
				f := int64(i) * p.total / int64(p.n)
				out[i] = p.out[f*int64(p.n)/p.total]
			}
			return out
		}
		return p.out
	}
	out := make([]float32, p.n)
	if p.pos == 0 {
		return out
	}
	for i := range out {
		lo := int64(i) * p.pos / int64(p.n)
		hi := (int64(i+1)*p.pos + int64(p.n) - 1) / int64(p.n) // exclusive
		if hi <= lo {
			hi = lo + 1
		}
		for b := lo / p.width; b <= (hi-1)/p.width && b < int64(len(p.buckets)); b++ {
			out[i] = max(out[i], p.buckets[b])
		}
	}
	return out
}
