package s3api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// ErrSlowDown: the gateway is at one of its limits and refuses the request
// before reading its body. It is the only error answered with S3's
// SlowDown.
var ErrSlowDown = errors.New("s3api: gateway at capacity")

// Limits bound what one gateway takes on at once. A request past them waits
// briefly for a place (queueWait, never reading its body) and is then
// answered 503 SlowDown and its connection closed; clients back off and
// retry. LimitsFor derives them from the gateway's memory limit.
type Limits struct {
	// MaxRequests bounds the requests in flight.
	MaxRequests int
	// MaxBodyBytes bounds the request body bytes in flight: an admitted
	// request holds its declared length (Content-Length), capped at what
	// one streaming body keeps in memory at once (two stripe buffers of the
	// erasure scheme); a body of unknown length holds that cap.
	MaxBodyBytes int64
	// BodyIdleTimeout: a request body that sends nothing for this long is
	// answered 400 RequestTimeout and its connection closed. Negative: no
	// timeout (and no eviction, see admission).
	BodyIdleTimeout time.Duration
}

// Defaults of Limits.
const (
	// DefaultMemoryLimit is the gateway's default soft memory limit, which
	// the default limits are derived from.
	DefaultMemoryLimit = 160 << 20
	// DefaultBodyIdleTimeout is about what S3 waits for a silent body.
	DefaultBodyIdleTimeout = 20 * time.Second
	// perRequestMemory is what a request is budgeted besides its body:
	// goroutine, connection buffers, meta replies, a listing's XML.
	perRequestMemory = 640 << 10
)

// LimitsFor returns the limits for a gateway whose memory is limited to
// memoryLimit bytes (0 or less: DefaultMemoryLimit).
//
// The model: a streaming body keeps two stripe buffers live (3 MiB with
// the default 4+2 x 256 KiB scheme), its charge; the Go collector lets the
// heap grow to about twice what is live before it collects, and the
// gateway's baseline (about 40 MiB RSS idle, the binary's own pages
// included) comes on top. A third of the limit for bodies keeps a gateway
// full of stalled or streaming PUTs at about four fifths of its limit: 53
// MiB of bodies (17 streaming PUTs) at the 160 MiB default, which measured
// at 115-135 MiB RSS under the slow-body attack of
// test/e2e/frontdoor_test.go. Requests are budgeted perRequestMemory each:
// 256 in flight at the default.
func LimitsFor(memoryLimit int64) Limits {
	if memoryLimit <= 0 {
		memoryLimit = DefaultMemoryLimit
	}
	return Limits{
		MaxRequests:     int(max(memoryLimit/perRequestMemory, 1)),
		MaxBodyBytes:    memoryLimit / 3,
		BodyIdleTimeout: DefaultBodyIdleTimeout,
	}
}

// How long a request past the limits may wait for a place, and how many
// may wait. The wait stays under the 1 s that Go's and botocore's clients
// give a server to answer "Expect: 100-continue" before they send the body
// anyway: a client that asked gets its 503 before it sends a byte.
const (
	queueWait     = 500 * time.Millisecond
	queuePerLimit = 4 // at most MaxRequests/queuePerLimit wait
)

// pressureIdleMax caps how long a body must have been silent to give its
// place up to a waiting request (see admission).
const pressureIdleMax = 2 * time.Second

// admission enforces Limits. A request enters with the body bytes it will
// hold and leaves when its handler is done.
//
// One that does not fit waits in a FIFO queue for at most queueWait, so a
// burst a little over the limits (an uploader with more parts in flight
// than the gateway takes) turns into a short delay rather than errors. On
// joining the queue it makes bodies that have been waiting for their
// client for pressureIdle (half the idle timeout, at most 2 s) give their
// places up: they are cut with 400 RequestTimeout, longest silent first, as
// many as the queue needs. A client that sends nothing does not keep out
// one that would. A request that gets no place within queueWait, or finds
// the queue full, is refused with ErrSlowDown. Nothing of its body is read
// in any case.
type admission struct {
	limits       Limits
	maxCharge    int64 // a body holds at most this much
	maxQueue     int
	pressureIdle time.Duration
	shed         func(reason string) // counts refusals; never nil

	mu       sync.Mutex
	requests int
	bytes    int64
	bodies   map[*requestBody]int64 // admitted bodies that can be evicted, and their charge
	queue    []*ticket              // waiting, first come first
}

func newAdmission(l Limits, maxCharge int64, shed func(reason string)) *admission {
	if shed == nil {
		shed = func(string) {}
	}
	a := &admission{
		limits: l, maxCharge: min(maxCharge, l.MaxBodyBytes), shed: shed,
		maxQueue: max(l.MaxRequests/queuePerLimit, 1), bodies: map[*requestBody]int64{},
	}
	if l.BodyIdleTimeout > 0 {
		a.pressureIdle = min(l.BodyIdleTimeout/2, pressureIdleMax)
	}
	return a
}

// charge is what r's body holds against MaxBodyBytes.
func (a *admission) charge(r *http.Request) int64 {
	if r.Body == nil || r.Body == http.NoBody {
		return 0
	}
	if r.ContentLength < 0 || r.ContentLength > a.maxCharge {
		return a.maxCharge
	}
	return r.ContentLength
}

// ticket is one request, waiting or admitted.
type ticket struct {
	a        *admission
	charge   int64
	body     *requestBody  // nil for a request without a body
	admitted chan struct{} // closed when admitted from the queue
	in       bool          // admitted; guarded by a.mu
}

// enter admits r or fails with an error wrapping ErrSlowDown. On success
// the ticket holds r's body as an idle-timed requestBody (nil for a
// request without one), for the caller to hand on (withBody), and the
// caller must call leave when the handler is done.
func (a *admission) enter(ctx context.Context, w http.ResponseWriter, r *http.Request) (*ticket, error) {
	t := &ticket{a: a, charge: a.charge(r), admitted: make(chan struct{})}
	if r.Body != nil && r.Body != http.NoBody {
		t.body = newRequestBody(w, r.Body, a.limits.BodyIdleTimeout)
	}
	a.mu.Lock()
	if len(a.queue) == 0 && a.fitsLocked(t.charge) {
		a.admitLocked(t)
		a.mu.Unlock()
		return t.installed(r), nil
	}
	reason := a.shortOfLocked()
	if len(a.queue) >= a.maxQueue {
		a.mu.Unlock()
		a.shed(reason)
		return nil, fmt.Errorf("%w: %s, and %d requests already waiting", ErrSlowDown, reason, a.maxQueue)
	}
	a.queue = append(a.queue, t)
	a.evictLocked()
	a.mu.Unlock()

	timer := time.NewTimer(queueWait)
	defer timer.Stop()
	var gaveUp error
	select {
	case <-t.admitted:
		return t.installed(r), nil
	case <-timer.C:
		gaveUp = fmt.Errorf("%w: %s for %s", ErrSlowDown, reason, queueWait)
	case <-ctx.Done():
		gaveUp = fmt.Errorf("%w: %s (the client left while waiting: %w)", ErrSlowDown, reason, ctx.Err())
	}
	a.mu.Lock()
	if t.in { // admitted just as the wait ended
		a.mu.Unlock()
		return t.installed(r), nil
	}
	a.queue = slices.DeleteFunc(a.queue, func(q *ticket) bool { return q == t })
	a.admitQueuedLocked() // the next in line may fit where this one did not
	a.mu.Unlock()
	a.shed(reason)
	return nil, gaveUp
}

// installed returns t, admitted for r.
func (t *ticket) installed(*http.Request) *ticket { return t }

func (a *admission) fitsLocked(charge int64) bool {
	return a.requests+1 <= a.limits.MaxRequests && a.bytes+charge <= a.limits.MaxBodyBytes
}

// shortOfLocked names the limit that keeps a request out: requests in
// flight, else body bytes (its own, or those of the requests waiting
// before it).
func (a *admission) shortOfLocked() string {
	if a.requests+1 > a.limits.MaxRequests {
		return "requests"
	}
	return "body_bytes"
}

func (a *admission) admitLocked(t *ticket) {
	a.requests++
	a.bytes += t.charge
	if t.body != nil {
		a.bodies[t.body] = t.charge
	}
	t.in = true
}

// admitQueuedLocked admits waiting requests in order while the first fits.
func (a *admission) admitQueuedLocked() {
	for len(a.queue) > 0 && a.fitsLocked(a.queue[0].charge) {
		t := a.queue[0]
		a.queue = a.queue[1:]
		a.admitLocked(t)
		close(t.admitted)
	}
}

// evictLocked cuts bodies silent for at least pressureIdle, longest silent
// first, until what they hold covers what the queue needs beyond the
// limits. Bodies already evicted and not yet gone count as room on its
// way. It evicts nothing when even all of them together would not make
// room: the queue then waits for requests that are making progress.
func (a *admission) evictLocked() {
	if a.pressureIdle <= 0 {
		return
	}
	needBytes := a.bytes - a.limits.MaxBodyBytes
	needReqs := a.requests + len(a.queue) - a.limits.MaxRequests
	for _, t := range a.queue {
		needBytes += t.charge
	}
	type idleBody struct {
		b      *requestBody
		charge int64
		idle   time.Duration
	}
	now := time.Now()
	var idle []idleBody
	for b, c := range a.bodies {
		if b.isEvicted() {
			needBytes -= c
			needReqs--
			continue
		}
		if d := b.idleFor(now); d >= a.pressureIdle {
			idle = append(idle, idleBody{b, c, d})
		}
	}
	slices.SortFunc(idle, func(x, y idleBody) int { return cmp.Compare(y.idle, x.idle) })
	var cut []*requestBody
	for _, ib := range idle {
		if needBytes <= 0 && needReqs <= 0 {
			break
		}
		cut = append(cut, ib.b)
		needBytes -= ib.charge
		needReqs--
	}
	if needBytes > 0 || needReqs > 0 {
		return
	}
	for _, b := range cut {
		b.evict()
	}
}

// leave returns the ticket's place and admits whoever waits for it.
func (t *ticket) leave() {
	a := t.a
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests--
	a.bytes -= t.charge
	if t.body != nil {
		delete(a.bodies, t.body)
	}
	a.admitQueuedLocked()
}

// inFlight returns the requests and body bytes in flight.
func (a *admission) inFlight() (int, int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests, a.bytes
}
