package model

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/sse"
)

var (
	// ErrCopySourceCorrupt: the bytes read from a copy source do not match
	// the digests recorded for it. The read path checks every block, so
	// this is a bug or corruption between gateway buffers; nothing is
	// written.
	ErrCopySourceCorrupt = errors.New("model: copy source bytes differ from its recorded digest")
	// errCopyAborted ends a copy's source read when the write side stopped.
	errCopyAborted = errors.New("model: copy aborted")
)

// Copy streams all of src's bytes through sums into new data (nothing
// committed), decrypting src with srcKey (its customer key, if any; check
// it first with CheckCustomerKey) and sealing the copy under dstKey (nil:
// the master key). The bytes are checked against the digests the source
// recorded (its MD5 ETag unless SSE-C, and any checksum sums computes
// again) before the shards are kept.
func (s *Store) Copy(ctx context.Context, src *cairnpb.ObjectVersion, sums *checksum.Set, srcKey, dstKey *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	expected := map[string]string{}
	for _, alg := range sums.Algorithms() {
		if val, ok := src.GetChecksums()[alg]; ok {
			expected[alg] = val
		}
	}
	if raw, err := hex.DecodeString(src.GetEtag()); err == nil && len(raw) == 16 && !IsSSEC(src) {
		expected[checksum.MD5] = base64.StdEncoding.EncodeToString(raw)
	}
	verify := func() error {
		if err := sums.Verify(expected); err != nil {
			return fmt.Errorf("%w: %w", ErrCopySourceCorrupt, err)
		}
		return nil
	}
	return s.copy(ctx, src, 0, src.GetSize(), sums, verify, srcKey, dstKey)
}

// CopyRange streams bytes [off, off+n) of src through sums into new data,
// as Copy does. The read path checks every block (and package) it reads;
// a range has no recorded digest to check as a whole.
func (s *Store) CopyRange(ctx context.Context, src *cairnpb.ObjectVersion, off, n int64, sums *checksum.Set, srcKey, dstKey *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	return s.copy(ctx, src, off, n, sums, func() error { return nil }, srcKey, dstKey)
}

// copy pipes a Read of src into a Write.
func (s *Store) copy(ctx context.Context, src *cairnpb.ObjectVersion, off, n int64, sums *checksum.Set, verify func() error, srcKey, dstKey *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	readErr := make(chan error, 1)
	go func() {
		err := s.Read(rctx, pw, src, off, n, srcKey)
		pw.CloseWithError(err) // nil: the writer sees io.EOF
		readErr <- err
	}()
	v, werr := s.Write(ctx, pr, n, sums, verify, dstKey)
	pr.CloseWithError(errCopyAborted)
	cancel()
	rerr := <-readErr
	if werr != nil {
		// A failed read surfaces in Write too; report the cause.
		if rerr != nil && !errors.Is(rerr, errCopyAborted) && !errors.Is(rerr, context.Canceled) {
			return nil, fmt.Errorf("copy: reading the source: %w", rerr)
		}
		return nil, werr
	}
	return v, nil
}
