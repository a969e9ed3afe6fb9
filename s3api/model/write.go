package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/placement"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Write streams size bytes of body into a new version: inline when
// small, else erasure coded onto k+m data nodes. It returns the version with
// its data fields set, the encryption envelope included (copy it into any
// PartInfo made from it); nothing is committed to meta. tee sees every
// plaintext byte exactly once, before the shards are committed, and verify
// may veto the write (checksum checks) by returning an error. The bytes
// are sealed (package sse) before they are inlined or erasure coded, under
// a fresh data key wrapped by the master key, or by ck when not nil.
func (s *Store) Write(ctx context.Context, body io.Reader, size int64, tee io.Writer, verify func() error, ck *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	return s.write(ctx, &exactReader{r: body, left: size}, size, tee, verify, ck)
}

// WriteUpTo is Write for a body whose length is known only at its end (a
// browser form's file), at most limit bytes: past the limit it fails with
// ErrTooLarge. A body that ends within the inline threshold is inlined;
// a longer one is erasure coded as it streams, and the version records
// the length found.
func (s *Store) WriteUpTo(ctx context.Context, body io.Reader, limit int64, tee io.Writer, verify func() error, ck *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	head := make([]byte, max(0, min(s.inline, limit)+1))
	n, err := io.ReadFull(body, head)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if int64(n) > limit {
			return nil, ErrTooLarge
		}
		return s.Write(ctx, bytes.NewReader(head[:n]), int64(n), tee, verify, ck)
	case err != nil:
		return nil, err
	}
	rest := &limitedReader{r: io.MultiReader(bytes.NewReader(head), body), left: limit}
	return s.write(ctx, rest, -1, tee, verify, ck)
}

// limitedReader fails with ErrTooLarge when its source goes on past left
// bytes, and counts what it passed.
type limitedReader struct {
	r         io.Reader
	left, got int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, err := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.got += int64(n)
	return n, err
}

// write is Write of body: size bytes, or (size -1) as many as body has.
func (s *Store) write(ctx context.Context, body io.Reader, size int64, tee io.Writer, verify func() error, ck *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	env, seal, err := sse.NewEnvelope(s.master, ck)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v := &cairnpb.ObjectVersion{VersionId: newVersionID(now), Size: size, ModifiedUnixNano: now.UnixNano(), Encryption: encryptionOf(env)}
	in := &bodyErrors{r: body}
	src := io.TeeReader(in, tee)

	if size >= 0 && size <= s.inline {
		buf := make([]byte, size)
		if _, err := io.ReadFull(src, buf); err != nil {
			return nil, err
		}
		if _, err := src.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			if err == nil {
				err = ErrBodyTooLong
			}
			return nil, err
		}
		if err := verify(); err != nil {
			return nil, err
		}
		v.InlineData, v.Encryption.Tags = seal.SealDetached(buf)
		return v, nil
	}

	coder, err := s.coder(s.k, s.m, s.block)
	if err != nil {
		return nil, err
	}
	targets, err := s.place(ctx, v.VersionId)
	if err != nil {
		return nil, err
	}
	n := s.k + s.m
	minOK := s.quorum

	wctx, cancelWrites := context.WithCancel(ctx)
	defer cancelWrites()
	writers := make([]erasure.BlockWriter, n)
	open := make([]ShardWriter, n)
	for i, t := range targets {
		if t.ID == "" {
			writers[i] = failedWriter{errNotPlaced}
			continue
		}
		w, err := s.shards.PutShard(wctx, t.Addr, placement.ShardID(v.VersionId, i))
		if err != nil {
			writers[i] = failedWriter{err}
			continue
		}
		writers[i], open[i] = w, w
	}
	abortAll := func() {
		for _, w := range open {
			if w != nil {
				w.Abort()
			}
		}
	}
	res, err := coder.EncodeWith(wctx, seal.EncryptReader(src), writers, minOK, erasure.WriteOptions{Stall: writeStall})
	if err != nil {
		abortAll()
		// A client that cuts its body short also cancels the request's
		// context: the body's own error says what happened.
		if berr := in.first(); berr != nil {
			err = berr
		}
		return nil, err
	}
	if err := verify(); err != nil {
		abortAll()
		return nil, err
	}

	errs := commitShards(open, res.Failed, minOK, writeStall)

	if size < 0 {
		v.Size = body.(*limitedReader).got
	}
	v.Scheme = &cairnpb.ErasureScheme{Data: int32(s.k), Parity: int32(s.m), BlockSize: int32(s.block)}
	ok := 0
	for i, t := range targets {
		loc := &cairnpb.ShardLocation{Index: int32(i)}
		if errs[i] == nil {
			loc.NodeId = t.ID
			loc.Digest = open[i].Digest()
			loc.Incarnation = open[i].Incarnation()
			ok++
		} else {
			v.Degraded = true
		}
		v.Shards = append(v.Shards, loc)
	}
	if ok < minOK {
		// The shards that did land are orphans: meta's reconciliation
		// reclaims them (gateways may not delete shards: docs/security.md).
		return nil, &quorumError{durable: ok, shards: n, quorum: minOK, err: errors.Join(errs...)}
	}
	return v, nil
}

// writeStall is how long a write waits on a data node that has stopped
// taking a shard's blocks, or on one commit once the write quorum's are
// done, before it gives that shard up and records the version degraded
// (repair rebuilds the shard). It is longer than a read's stallLimit: a
// node flushing to a busy disk can be slow to take blocks for a while,
// and a shard given up here costs a repair, not just a rebuilt stripe.
const writeStall = 5 * time.Second

// commitShards makes the shards written without failure durable, in
// parallel, and returns each shard's error (nil: durable). Once minOK
// commits succeeded, the rest get stall more and are then aborted; with
// fewer, commits are waited for as long as the request lasts.
func commitShards(open []ShardWriter, failed []error, minOK int, stall time.Duration) []error {
	errs := make([]error, len(open))
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(open))
	pending := 0
	for i := range open {
		if open[i] == nil || failed[i] != nil {
			if open[i] != nil {
				open[i].Abort()
			}
			errs[i] = errors.Join(failed[i], errors.New("not written"))
			continue
		}
		pending++
		go func() { results <- result{i, open[i].Commit()} }()
	}
	ok := 0
	var stalled <-chan time.Time
	committed := make([]bool, len(open))
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			errs[r.i] = r.err
			if r.err == nil {
				committed[r.i] = true
				if ok++; ok == minOK && pending > 0 {
					timer := time.NewTimer(stall)
					defer timer.Stop()
					stalled = timer.C
				}
			}
		case <-stalled:
			stalled = nil
			for i, w := range open {
				if w != nil && failed[i] == nil && !committed[i] && errs[i] == nil {
					w.Abort() // its Commit returns the cancellation
				}
			}
		}
	}
	return errs
}

// bodyErrors remembers the first error other than io.EOF its reader
// returned.
type bodyErrors struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (b *bodyErrors) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *bodyErrors) first() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// errNotPlaced: no healthy host was left for a shard (a degraded write).
var errNotPlaced = errors.New("no healthy data node on a host of its own was left for this shard")

// quorumError is a write refused for want of data nodes: too few hosts to
// place the write quorum on, or too few shards made durable. It matches
// ErrWriteQuorum, and its client message says what is short.
type quorumError struct {
	hosts          int // placeable hosts, when placement was short (-1 otherwise)
	durable        int
	shards, quorum int
	err            error
}

func (e *quorumError) Error() string {
	if e.err != nil {
		return e.ClientMessage() + ": " + e.err.Error()
	}
	return e.ClientMessage()
}

func (e *quorumError) Unwrap() []error { return []error{ErrWriteQuorum, e.err} }

// ClientMessage says what is short, in counts.
func (e *quorumError) ClientMessage() string {
	if e.err == nil {
		return fmt.Sprintf("Only %d data nodes on distinct hosts are healthy; a write needs %d of its %d shards on distinct hosts (the write quorum). Retry when data nodes are back.",
			e.hosts, e.quorum, e.shards)
	}
	return fmt.Sprintf("Only %d of %d shards could be stored; a write needs %d (the write quorum). Retry when data nodes are back.",
		e.durable, e.shards, e.quorum)
}

type failedWriter struct{ err error }

func (f failedWriter) WriteBlock(context.Context, int64, []byte) error { return f.err }

type target struct{ ID, Addr string }

// clusterMapAge is how stale a cached cluster map may be for placement.
const clusterMapAge = 3 * time.Second

// place picks k+m healthy data nodes for a version from the cached map.
// With too few, it places as many shards as there are healthy hosts, one
// per host, and leaves the other targets empty (ID ""): a degraded write,
// refused with a *quorumError when the write quorum does not fit.
func (s *Store) place(ctx context.Context, versionID string) ([]target, error) {
	targets, err := s.placeWith(ctx, versionID, clusterMapAge)
	if errors.Is(err, ErrWriteQuorum) || errors.Is(err, errShortPlacement) {
		// The cached map may predate nodes that just registered or came
		// back; a map at most placeRefreshAge old is asked for, so that
		// writes during an outage do not each cost a call to meta.
		targets, err = s.placeWith(ctx, versionID, placeRefreshAge)
	}
	if errors.Is(err, errShortPlacement) {
		err = nil
	}
	return targets, err
}

// placeRefreshAge is how old a cluster map may be when a placement short
// of nodes is tried again.
const placeRefreshAge = time.Second

// errShortPlacement: placeWith placed fewer than k+m shards (but the
// write quorum).
var errShortPlacement = errors.New("model: degraded placement")

func (s *Store) placeWith(ctx context.Context, versionID string, maxAge time.Duration) ([]target, error) {
	cm, err := s.index.ClusterMap(ctx, maxAge)
	if err != nil {
		return nil, err
	}
	var nodes []placement.Node
	addrs := map[string]string{}
	for _, st := range cm.GetNodes() {
		// Draining and removed nodes take no new shards.
		if !st.GetHealthy() || st.GetNode().GetState() != cairnpb.NodeState_NODE_STATE_ACTIVE {
			continue
		}
		n := st.GetNode()
		nodes = append(nodes, placement.Node{ID: n.GetId(), Weight: n.GetWeight(), Zone: n.GetZone(), Rack: n.GetRack(), Host: n.GetHost()})
		addrs[n.GetId()] = n.GetAddr()
	}
	n := s.k + s.m
	ids, err := placement.Place(nodes, []byte(versionID), n)
	var short error
	if errors.Is(err, placement.ErrNotEnoughNodes) {
		// Degraded: one shard per healthy host, data shards first (reads
		// need no decoding then), the rest recorded as missing for repair.
		ids, err = placement.PlaceUpTo(nodes, []byte(versionID), n)
		if err == nil && len(ids) < s.quorum {
			return nil, &quorumError{hosts: len(ids), shards: n, quorum: s.quorum}
		}
		short = errShortPlacement
	}
	if err != nil {
		return nil, fmt.Errorf("placement: %w", err)
	}
	out := make([]target, n)
	for i, id := range ids {
		out[i] = target{ID: id, Addr: addrs[id]}
	}
	return out, short
}

// nodeAddrs maps data node IDs to addresses, and says which are healthy.
func (s *Store) nodeAddrs(ctx context.Context) (map[string]string, map[string]bool, error) {
	cm, err := s.index.ClusterMap(ctx, clusterMapAge)
	if err != nil {
		return nil, nil, err
	}
	addrs := make(map[string]string, len(cm.GetNodes()))
	healthy := make(map[string]bool, len(cm.GetNodes()))
	for _, st := range cm.GetNodes() {
		addrs[st.GetNode().GetId()] = st.GetNode().GetAddr()
		healthy[st.GetNode().GetId()] = st.GetHealthy()
	}
	return addrs, healthy, nil
}

// exactReader passes through exactly n bytes and fails when the source
// ends early or goes on.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		// Read past the end: the source must end here. Reading to EOF also
		// lets streaming decoders check their final signatures and trailers.
		var one [1]byte
		for {
			n, err := e.r.Read(one[:])
			if n > 0 {
				return 0, ErrBodyTooLong
			}
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.left > 0 {
			return n, ErrIncompleteBody
		}
		err = nil
	}
	return n, err
}
