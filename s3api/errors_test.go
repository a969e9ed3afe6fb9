package s3api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
)

// TestEverySentinelTranslates: each of proto/rpcerr's sentinels is
// answered with the S3 code its row names (rpcerr's own tests check that a
// sentinel comes back over the wire as itself).
func TestEverySentinelTranslates(t *testing.T) {
	for _, s := range rpcerr.Sentinels() {
		if _, ok := wireCodes[s.S3]; !ok {
			t.Errorf("%v: its row names S3 code %q, which wireCodes does not know", s.Err, s.S3)
			continue
		}
		if got := toS3Error(fmt.Errorf("meta: doing a thing: %w", s.Err)).Code; got.Name != s.S3 {
			t.Errorf("%v: S3 code %s, its row says %s", s.Err, got.Name, s.S3)
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
		{fmt.Errorf("%w: %w", model.ErrWriteQuorum, rpcerr.ErrShardNotFound), http.StatusServiceUnavailable},
	} {
		if got := toS3Error(c.err).Code.Status; got != c.status {
			t.Errorf("%v: HTTP %d, want %d", c.err, got, c.status)
		}
	}
}
