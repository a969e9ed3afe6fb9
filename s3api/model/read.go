package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/placement"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/cluster"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Read writes plaintext bytes [off, off+n) of v to w, opening v's
// envelope with the master key or, for SSE-C data, ck (check it with
// CheckCustomerKey first for the right S3 error). Only the packages the
// range touches are read and decrypted.
func (s *Store) Read(ctx context.Context, w io.Writer, v *cairnpb.ObjectVersion, off, n int64, ck *sse.CustomerKey) error {
	if n == 0 {
		return nil
	}
	if len(v.GetParts()) > 0 {
		return s.readParts(ctx, w, v, off, n, ck)
	}
	return s.readUnit(ctx, w, v, unitRef{bucketID: v.GetBucketId(), key: v.GetKey(), versionID: v.GetVersionId()}, off, n, ck)
}

// unitRef names a unit of erasure-coded data, a version or one part of a
// multipart version, in reports to meta.
type unitRef struct {
	bucketID  []byte
	key       string
	versionID string
	part      int32
}

// readUnit writes plaintext bytes [off, off+n) of one unit (v holds its
// data fields) to w. A read that gets too few shards before any byte went
// out is tried once more with a fresh cluster map; one whose bytes fail
// decryption is read around the shards that may be bad (readAround).
func (s *Store) readUnit(ctx context.Context, w io.Writer, v *cairnpb.ObjectVersion, ref unitRef, off, n int64, ck *sse.CustomerKey) error {
	cw := &countingWriter{w: w}
	err := s.decodeUnit(ctx, cw, v, ref, off, n, ck, nil)
	if err != nil && cw.n == 0 && errors.Is(err, erasure.ErrTooManyFailures) {
		// The cached map may predate nodes that moved (a restarted node
		// with a new address). Refresh it and try once more.
		if _, rerr := s.index.ClusterMap(ctx, 0); rerr == nil {
			err = s.decodeUnit(ctx, cw, v, ref, off, n, ck, nil)
		}
	}
	if err != nil && errors.Is(err, sse.ErrTampered) && v.GetScheme() != nil && ctx.Err() == nil {
		err = s.readAround(ctx, cw, v, ref, off, n, ck, err)
	}
	return err
}

// readAround goes on with a read whose bytes failed decryption: some
// shard gave wrong bytes that passed every check (data written before
// shard digests were recorded, or a fault no checksum saw). It resumes
// where the output stopped, leaving out each shard in turn, then each
// pair, up to the parity count, until the rest decrypts; the shards whose
// absence made it work are reported. Bytes that went out were
// authenticated, so none is wrong. It returns first when nothing helps.
func (s *Store) readAround(ctx context.Context, cw *countingWriter, v *cairnpb.ObjectVersion, ref unitRef, off, n int64, ck *sse.CustomerKey, first error) error {
	sc := v.GetScheme()
	total, parity := int(sc.GetData()+sc.GetParity()), int(sc.GetParity())
	for size := 1; size <= parity; size++ {
		for _, left := range subsets(total, size) {
			if ctx.Err() != nil {
				return first
			}
			done := cw.n
			err := s.decodeUnit(ctx, cw, v, ref, off+done, n-done, ck, left)
			if err == nil {
				s.shardReports.note(ref, v, left, "content failed decryption")
				return nil
			}
		}
	}
	return first
}

// subsets lists every set of size distinct indexes below n, in order.
func subsets(n, size int) [][]int {
	var out [][]int
	var walk func(from int, cur []int)
	walk = func(from int, cur []int) {
		if len(cur) == size {
			out = append(out, append([]int(nil), cur...))
			return
		}
		for i := from; i < n; i++ {
			walk(i+1, append(cur, i))
		}
	}
	walk(0, nil)
	return out
}

// countingWriter counts the bytes that passed through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// errLeftOut: readAround chose not to read a shard.
var errLeftOut = errors.New("shard left out of this read")

// stallLimit is how long a read waits on a data node that has stopped
// answering (a stopped process, a dead link the connection has not
// noticed) before it gives that shard up and rebuilds from another, while
// one is left (erasure.ReadOptions.Stall). A healthy node answers a block
// within milliseconds; giving one up early only costs a rebuilt stripe.
const stallLimit = 2 * time.Second

// decodeUnit writes plaintext bytes [off, off+n) of one unit to w,
// without reading the shards listed in leaveOut. Shards it finds missing
// or corrupt are reported to meta.
func (s *Store) decodeUnit(ctx context.Context, w io.Writer, v *cairnpb.ObjectVersion, ref unitRef, off, n int64, ck *sse.CustomerKey, leaveOut []int) error {
	if n == 0 {
		return nil
	}
	c, err := s.openEnvelope(v.GetEncryption(), ck)
	if err != nil {
		return err
	}
	if v.GetScheme() == nil {
		return c.OpenDetached(w, v.GetInlineData(), v.GetEncryption().GetTags(), off, n)
	}
	sc := v.GetScheme()
	coder, err := s.coder(int(sc.GetData()), int(sc.GetParity()), int(sc.GetBlockSize()))
	if err != nil {
		return err
	}
	addrs, healthy, err := s.nodeAddrs(ctx)
	if err != nil {
		return err
	}
	// Shards are looked up by index, whatever order the record keeps them in.
	locs := make(map[int]*cairnpb.ShardLocation, len(v.GetShards()))
	for _, loc := range v.GetShards() {
		locs[int(loc.GetIndex())] = loc
	}
	open := func(ctx context.Context, shard int, first int64) (erasure.BlockReader, error) {
		if slices.Contains(leaveOut, shard) {
			return nil, errLeftOut
		}
		id := locs[shard].GetNodeId()
		if id == "" {
			return nil, fmt.Errorf("shard %d: %w", shard, errShardNeverWritten)
		}
		addr, ok := addrs[id]
		if !ok {
			return nil, fmt.Errorf("shard %d on %s: %w", shard, id, ErrUnknownNode)
		}
		// A node the map calls unhealthy is still tried, briefly: the map
		// may be older than the node's recovery.
		patience := cluster.Patient
		if !healthy[id] {
			patience = cluster.Brief
		}
		return s.shards.GetShard(ctx, addr, placement.ShardID(v.GetVersionId(), shard), first, locs[shard].GetDigest(), patience)
	}
	// The shards hold the sealed stream: decode the packages the range
	// touches and decrypt them on the way out.
	layout := erasure.Layout{K: int(sc.GetData()), M: int(sc.GetParity()), BlockSize: int(sc.GetBlockSize()), Size: c.SealedSize(v.GetSize())}
	sealedOff, sealedLen := c.SealedRange(v.GetSize(), off, n)
	dw := c.DecryptWriter(w, v.GetSize(), off, n)
	// Shards on nodes the map calls unhealthy are read only when the rest
	// are too few: a stripe rebuilt from parity costs less than waiting
	// on a node that is likely down.
	var doubtful []int
	for shard, loc := range locs {
		if !healthy[loc.GetNodeId()] {
			doubtful = append(doubtful, shard)
		}
	}
	outcomes := newShardOutcomes()
	err = coder.DecodeWith(ctx, dw, layout, outcomes.watch(open), erasure.ReadOptions{Doubtful: doubtful, Stall: stallLimit}, sealedOff, sealedLen)
	for reason, shards := range outcomes.bad() {
		s.shardReports.note(ref, v, shards, reason)
	}
	if err != nil {
		return outcomes.classify(err, v, int(sc.GetData()), int(sc.GetParity()))
	}
	return dw.Close()
}

// readParts writes bytes [off, off+n) of a multipart version to w, part by
// part: each overlapping part is decoded on its own for the sub-range it
// holds, so a range touches only the parts (and stripes) it needs.
func (s *Store) readParts(ctx context.Context, w io.Writer, v *cairnpb.ObjectVersion, off, n int64, ck *sse.CustomerKey) error {
	end := off + n
	var pos, inlinePos int64
	for _, p := range v.GetParts() {
		if pos >= end {
			break
		}
		size := p.GetSize()
		isInline := p.GetScheme() == nil
		if pos+size > off && size > 0 {
			lo, hi := max(off, pos)-pos, min(end, pos+size)-pos
			pv := &cairnpb.ObjectVersion{VersionId: p.GetShardBase(), Size: size, Scheme: p.GetScheme(), Shards: p.GetShards(), Encryption: p.GetEncryption()}
			if isInline {
				data := v.GetInlineData()
				if inlinePos+size > int64(len(data)) {
					return fmt.Errorf("model: part %d: %d inline bytes missing from the record", p.GetNumber(), inlinePos+size-int64(len(data)))
				}
				pv.InlineData = data[inlinePos : inlinePos+size]
			}
			ref := unitRef{bucketID: v.GetBucketId(), key: v.GetKey(), versionID: v.GetVersionId(), part: p.GetNumber()}
			if err := s.readUnit(ctx, w, pv, ref, lo, hi-lo, ck); err != nil {
				return fmt.Errorf("model: part %d: %w", p.GetNumber(), err)
			}
		}
		if isInline {
			inlinePos += size
		}
		pos += size
	}
	return nil
}

// ReadStarting is Read for a front end that commits to a response only
// once there are bytes to send: start runs once, just before the first
// byte goes to w (a status line is written there). started reports
// whether it ran, so that a read that failed before any byte can still be
// answered with an error, and one that failed after can only be cut off.
func (s *Store) ReadStarting(ctx context.Context, w io.Writer, start func(), v *cairnpb.ObjectVersion, off, n int64, ck *sse.CustomerKey) (started bool, err error) {
	fw := &firstWrite{w: w, start: start}
	err = s.Read(ctx, fw, v, off, n, ck)
	return fw.started, err
}

// firstWrite calls start before its first byte.
type firstWrite struct {
	w       io.Writer
	start   func()
	started bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.started {
		f.started = true
		f.start()
	}
	return f.w.Write(p)
}
