package s3api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestEverySentinelTranslates: each of proto/rpcerr's sentinels, made here
// or come back over the wire, is answered with the S3 code its row names.
func TestEverySentinelTranslates(t *testing.T) {
	for _, s := range rpcerr.Sentinels() {
		if _, ok := wireCodes[s.S3]; !ok {
			t.Errorf("%v: its row names S3 code %q, which wireCodes does not know", s.Err, s.S3)
			continue
		}
		local := fmt.Errorf("meta: doing a thing: %w", s.Err)
		for what, err := range map[string]error{"local": local, "wire": rpcerr.FromStatus(rpcerr.ToStatus(local))} {
			if got := toS3Error(err).Code; got.Name != s.S3 {
				t.Errorf("%v (%s): S3 code %s, its row says %s", s.Err, what, got.Name, s.S3)
			}
		}
	}
}

// TestShardSentinelsYieldToTheRead: a shard's sentinel inside a failed
// decode or write answers as the decode or write, not as a 500.
func TestShardSentinelsYieldToTheRead(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: stripe 0: %w", erasure.ErrTooManyFailures, rpcerr.ErrChecksum), http.StatusServiceUnavailable},
		{fmt.Errorf("%w: %w", erasure.ErrTooFewWriters, rpcerr.ErrNoSpace), http.StatusServiceUnavailable},
		{fmt.Errorf("%w: %w", ErrWriteQuorum, rpcerr.ErrShardNotFound), http.StatusServiceUnavailable},
	} {
		if got := toS3Error(c.err).Code.Status; got != c.status {
			t.Errorf("%v: HTTP %d, want %d", c.err, got, c.status)
		}
	}
}
