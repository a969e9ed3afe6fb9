package s3api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cairn-store/cairn/s3api/model"
)

// ErrRequestTimeout: the client stopped sending its request body for
// longer than the idle timeout, or for long enough to give its place to a
// waiting request while the gateway was full (see admission).
var ErrRequestTimeout = errors.New("s3api: request body stopped arriving")

// pastDeadline is a read deadline that has already passed: setting it makes
// a blocked read return at once.
var pastDeadline = time.Unix(1, 0)

// requestBody is a request body with an idle timeout: every Read may wait
// at most idle for the client, enforced as a read deadline on the
// connection that each Read extends, so a slow but steady client is never
// cut while a silent one is, whatever the handler does between reads.
//
// It also turns the ways a body can fail into the gateway's errors: a
// deadline into ErrRequestTimeout, a connection closed early
// (io.ErrUnexpectedEOF from net/http) into model.ErrIncompleteBody. After a
// failed read the connection is closed with the error response, since
// the rest of the body was never read.
//
// A body that saw io.EOF clears the deadline: net/http keeps reading the
// connection in the background from then on (to notice a client that
// goes away), and an expired deadline there would cancel the request.
type requestBody struct {
	io.ReadCloser
	ctl  *http.ResponseController
	idle time.Duration

	mu sync.Mutex
	// waitingSince is when the Read in progress started; zero when no Read
	// is waiting for the client.
	waitingSince time.Time
	evicted      bool  // its place was given away; every Read fails
	done         error // io.EOF or the failure every later Read returns
	canDeadline  bool  // the connection takes read deadlines
}

func newRequestBody(w http.ResponseWriter, body io.ReadCloser, idle time.Duration) *requestBody {
	b := &requestBody{ReadCloser: body, ctl: http.NewResponseController(w), idle: idle}
	// Probe once: a ResponseWriter that is not net/http's own (a test
	// recorder) has no connection to put a deadline on.
	b.canDeadline = idle > 0 && b.ctl.SetReadDeadline(time.Time{}) == nil
	return b
}

// Read reads from the body with the idle deadline. Its end (io.EOF) and
// its failures are sticky: later Reads return them without touching the
// connection, whose deadline must stay clear after the end.
func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.done != nil {
		b.mu.Unlock()
		return 0, b.done
	}
	if b.evicted {
		b.done = fmt.Errorf("%w: its place was given to another request while the gateway was full", ErrRequestTimeout)
		b.mu.Unlock()
		return 0, b.done
	}
	start := time.Now()
	b.waitingSince = start
	if b.canDeadline {
		_ = b.ctl.SetReadDeadline(start.Add(b.idle)) // worked when probed
	}
	b.mu.Unlock()

	n, err := b.ReadCloser.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.waitingSince = time.Time{}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if b.canDeadline {
			_ = b.ctl.SetReadDeadline(time.Time{})
		}
	case errors.Is(err, os.ErrDeadlineExceeded) && b.evicted:
		err = fmt.Errorf("%w: silent for %s while the gateway was full", ErrRequestTimeout, time.Since(start).Round(time.Millisecond))
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("%w: no body bytes for %s", ErrRequestTimeout, b.idle)
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%w: %w", model.ErrIncompleteBody, err)
	}
	b.done = err
	return n, err
}

// idleFor returns how long the Read in progress has waited for the
// client; 0 when no Read is waiting or the body was already evicted.
func (b *requestBody) idleFor(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.evicted || b.waitingSince.IsZero() {
		return 0
	}
	return now.Sub(b.waitingSince)
}

// evict gives the body's place away: the Read waiting for the client
// returns at once, and every later Read fails, with ErrRequestTimeout. It
// does nothing when no Read is waiting (a body that has reached its end
// must keep its connection's deadline clear) or the body cannot be cut (no
// read deadlines on its connection).
func (b *requestBody) evict() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.canDeadline || b.evicted || b.waitingSince.IsZero() {
		return
	}
	b.evicted = true
	_ = b.ctl.SetReadDeadline(pastDeadline)
}

func (b *requestBody) isEvicted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.evicted
}

// failed reports whether a Read failed, leaving the rest of the body
// unread.
func (b *requestBody) failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done != nil && b.done != io.EOF
}

// withBody returns a shallow copy of r that reads body. The request
// net/http gave the handler keeps its own body: the server looks at it to
// learn whether an Expect: 100-continue body was ever asked for. A reply
// sent before the body was read then goes out at once, and the connection
// is closed, instead of the server first asking the client for the body
// (and waiting for up to 256 KiB of it) to drain it.
func withBody(r *http.Request, body io.ReadCloser) *http.Request {
	r2 := r.WithContext(r.Context())
	r2.Body = body
	return r2
}
