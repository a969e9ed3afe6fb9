package node

import (
	"fmt"
	"log/slog"
	"sync/atomic"
)

// Counters is a snapshot of a store's activity since it was opened, ready
// to be exported as monotonic metrics.
type Counters struct {
	ShardsPut         uint64 // shards committed by PutShard
	ShardsIngested    uint64 // of those, shards written as an ingested sstable
	ShardsDeleted     uint64
	BlocksWritten     uint64
	BytesWritten      uint64 // block data bytes accepted (without checksums)
	BlocksRead        uint64 // blocks read and verified
	BytesRead         uint64
	ChecksumFailures  uint64 // reads that failed verification (CRC, missing block, Pebble error)
	DigestMismatches  uint64 // shard digests that differed from the recorded one (reads refused, scrub, rebuilds refused)
	PebbleCorruptions uint64 // corruption Pebble itself reported (reads and compactions)
	OrphansSwept      uint64 // seqs removed by SweepOrphans
	ShardsRebuilt     uint64 // shards made by RebuildShard (copied or reconstructed)
	ShardsScrubbed    uint64 // shards the scrubber read through
	BlocksScrubbed    uint64 // blocks the scrubber read and verified
	BytesScrubbed     uint64
	CorruptFound      uint64 // shards the scrubber found failing verification
	CorruptReported   uint64 // of those, reports meta accepted
	ScrubPasses       uint64 // complete passes over the store
}

type counters struct {
	shardsPut, shardsIngested, shardsDeleted atomic.Uint64
	blocksWritten, bytesWritten              atomic.Uint64
	blocksRead, bytesRead                    atomic.Uint64
	checksumFailures, pebbleCorruptions      atomic.Uint64
	digestMismatches                         atomic.Uint64
	orphansSwept                             atomic.Uint64
	shardsRebuilt                            atomic.Uint64
	shardsScrubbed, blocksScrubbed           atomic.Uint64
	bytesScrubbed, corruptFound              atomic.Uint64
	corruptReported, scrubPasses             atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		ShardsPut:         c.shardsPut.Load(),
		ShardsIngested:    c.shardsIngested.Load(),
		ShardsDeleted:     c.shardsDeleted.Load(),
		BlocksWritten:     c.blocksWritten.Load(),
		BytesWritten:      c.bytesWritten.Load(),
		BlocksRead:        c.blocksRead.Load(),
		BytesRead:         c.bytesRead.Load(),
		ChecksumFailures:  c.checksumFailures.Load(),
		DigestMismatches:  c.digestMismatches.Load(),
		PebbleCorruptions: c.pebbleCorruptions.Load(),
		OrphansSwept:      c.orphansSwept.Load(),
		ShardsRebuilt:     c.shardsRebuilt.Load(),
		ShardsScrubbed:    c.shardsScrubbed.Load(),
		BlocksScrubbed:    c.blocksScrubbed.Load(),
		BytesScrubbed:     c.bytesScrubbed.Load(),
		CorruptFound:      c.corruptFound.Load(),
		CorruptReported:   c.corruptReported.Load(),
		ScrubPasses:       c.scrubPasses.Load(),
	}
}

// Counters returns a snapshot of the store's counters.
func (s *Store) Counters() Counters { return s.ctr.snapshot() }

// pebbleLogger routes Pebble's logging into slog. Fatalf panics: Pebble
// calls it on broken invariants and must not continue.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Info(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}
