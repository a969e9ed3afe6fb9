package erasure

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

var (
	errInjectedWrite = errors.New("injected write failure")
	errInjectedRead  = errors.New("injected read failure")
	errInjectedOpen  = errors.New("injected open failure")
	errChecksum      = errors.New("checksum mismatch")
	errNoBlock       = errors.New("no such block")
)

// openCall records one OpenFunc call.
type openCall struct {
	shard int
	first int64
}

// memStore is an in-memory shard store for tests. Its writers implement
// BlockWriter and its Open is an OpenFunc over the same blocks. Faults can
// be injected per shard: a write that fails at a given block, an open that
// fails, a read that fails at a given block, corrupted or truncated blocks
// (caught by the stored CRC-32C, as a data node would).
type memStore struct {
	mu     sync.Mutex
	blocks [][][]byte // [shard][index]
	sums   [][]uint32

	writeErrAt map[int]int64 // shard -> index whose WriteBlock fails
	stallWrite map[int]int64 // shard -> index from which WriteBlock blocks until ctx ends
	openErr    map[int]error
	readErrAt  map[int]int64 // shard -> index whose ReadBlock fails
	blockOpen  map[int]bool  // shard -> ReadBlock blocks until ctx ends
	stallAt    map[int]int64 // shard -> index from which ReadBlock blocks until ctx ends

	// scratch makes readers return one reused buffer, overwritten by each
	// read, to catch callers that keep blocks past the next read.
	scratch bool
	// lend makes readers BlockLenders: each block in a copy of its own,
	// poisoned when released, to catch callers that use a block after
	// giving it back, give it back twice or never.
	lend    bool
	lentNow int // blocks lent and not released

	writeCalls []int // per shard
	readCalls  []int // per shard
	opens      []openCall
	openNow    int // readers opened and not yet closed
	misuse     int // reads after Close and double Closes
}

func newMemStore(shards int) *memStore {
	return &memStore{
		blocks:     make([][][]byte, shards),
		sums:       make([][]uint32, shards),
		writeErrAt: map[int]int64{},
		stallWrite: map[int]int64{},
		openErr:    map[int]error{},
		readErrAt:  map[int]int64{},
		blockOpen:  map[int]bool{},
		stallAt:    map[int]int64{},
		writeCalls: make([]int, shards),
		readCalls:  make([]int, shards),
	}
}

// writers returns one BlockWriter per shard.
func (m *memStore) writers() []BlockWriter {
	ws := make([]BlockWriter, len(m.blocks))
	for j := range ws {
		ws[j] = &memWriter{m: m, shard: j}
	}
	return ws
}

type memWriter struct {
	m     *memStore
	shard int
}

func (w *memWriter) WriteBlock(ctx context.Context, index int64, block []byte) error {
	m := w.m
	m.mu.Lock()
	if at, ok := m.stallWrite[w.shard]; ok && index >= at {
		m.writeCalls[w.shard]++
		m.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	defer m.mu.Unlock()
	m.writeCalls[w.shard]++
	if at, ok := m.writeErrAt[w.shard]; ok && index >= at {
		return fmt.Errorf("shard %d block %d: %w", w.shard, index, errInjectedWrite)
	}
	if want := int64(len(m.blocks[w.shard])); index != want {
		return fmt.Errorf("shard %d: got block %d, want %d", w.shard, index, want)
	}
	m.blocks[w.shard] = append(m.blocks[w.shard], append([]byte(nil), block...))
	m.sums[w.shard] = append(m.sums[w.shard], Checksum(block))
	return nil
}

// corrupt flips a bit of a stored block, leaving its checksum stale.
func (m *memStore) corrupt(shard int, index int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blocks[shard][index][0] ^= 0x40
}

// truncate shortens a stored block and fixes its checksum, as a buggy node
// that stored the wrong bytes consistently would.
func (m *memStore) truncate(shard int, index int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blocks[shard][index]
	b = b[:len(b)-1]
	m.blocks[shard][index] = b
	m.sums[shard][index] = Checksum(b)
}

// lose makes a shard unopenable.
func (m *memStore) lose(shards ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, j := range shards {
		m.openErr[j] = fmt.Errorf("shard %d: %w", j, errInjectedOpen)
	}
}

// shardBytes is the total stored length of a shard.
func (m *memStore) shardBytes(shard int) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, b := range m.blocks[shard] {
		n += int64(len(b))
	}
	return n
}

func (m *memStore) openCalls() []openCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]openCall(nil), m.opens...)
}

// checkClean fails t if a reader is still open or was misused.
func (m *memStore) checkClean(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.openNow != 0 {
		t.Errorf("%d readers left open", m.openNow)
	}
	if m.lentNow != 0 {
		t.Errorf("%d lent blocks never released", m.lentNow)
	}
	if m.misuse != 0 {
		t.Errorf("%d reads after Close or double Closes", m.misuse)
	}
}

// Open is the store's OpenFunc.
func (m *memStore) Open(ctx context.Context, shard int, first int64) (BlockReader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opens = append(m.opens, openCall{shard, first})
	if shard < 0 || shard >= len(m.blocks) {
		return nil, fmt.Errorf("shard %d out of range", shard)
	}
	if err := m.openErr[shard]; err != nil {
		return nil, err
	}
	m.openNow++
	r := &memReader{m: m, shard: shard, next: first}
	if m.lend {
		return &memLender{r}, nil
	}
	return r, nil
}

// memLender is a memReader that lends its blocks (BlockLender).
type memLender struct{ *memReader }

func (r *memLender) LendBlock(ctx context.Context) ([]byte, func(), error) {
	b, err := r.ReadBlock(ctx)
	if err != nil {
		return nil, nil, err
	}
	own := append([]byte(nil), b...)
	m := r.m
	m.mu.Lock()
	m.lentNow++
	m.mu.Unlock()
	var once sync.Once
	return own, func() {
		released := false
		once.Do(func() { released = true })
		m.mu.Lock()
		defer m.mu.Unlock()
		if !released {
			m.misuse++
			return
		}
		m.lentNow--
		for i := range own {
			own[i] = 0xEE
		}
	}, nil
}

type memReader struct {
	m      *memStore
	shard  int
	next   int64
	closed bool
	buf    []byte
}

func (r *memReader) ReadBlock(ctx context.Context) ([]byte, error) {
	m := r.m
	m.mu.Lock()
	if r.closed {
		m.misuse++
		m.mu.Unlock()
		return nil, errors.New("read after close")
	}
	m.readCalls[r.shard]++
	if at, ok := m.stallAt[r.shard]; m.blockOpen[r.shard] || ok && r.next >= at {
		m.mu.Unlock()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	defer m.mu.Unlock()
	i := r.next
	if at, ok := m.readErrAt[r.shard]; ok && i >= at {
		return nil, fmt.Errorf("shard %d block %d: %w", r.shard, i, errInjectedRead)
	}
	if i < 0 || i >= int64(len(m.blocks[r.shard])) {
		return nil, fmt.Errorf("shard %d block %d: %w", r.shard, i, errNoBlock)
	}
	b := m.blocks[r.shard][i]
	if Checksum(b) != m.sums[r.shard][i] {
		return nil, fmt.Errorf("shard %d block %d: %w", r.shard, i, errChecksum)
	}
	r.next++
	if m.scratch {
		r.buf = append(r.buf[:0], b...)
		return r.buf, nil
	}
	return b, nil
}

func (r *memReader) Close() error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.closed {
		r.m.misuse++
		return errors.New("closed twice")
	}
	r.closed = true
	r.m.openNow--
	// Poison the scratch buffer: a caller still holding it sees garbage.
	for i := range r.buf {
		r.buf[i] = 0xEE
	}
	return nil
}
