package node

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The BenchmarkPass* benchmarks measure one pass over a shard byte each,
// for docs/performance.md's per-byte budget: every op covers one shard
// block of the default scheme (256 KiB). With 4+2, the data nodes handle
// 1.5 shard bytes per object byte.
const passBlock = 256 << 10

func passBlockRequest() *cairnpb.PutShardRequest {
	data := make([]byte, passBlock)
	for i := range data {
		data[i] = byte(i * 31)
	}
	return &cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: &cairnpb.Block{Index: 7, Data: data, Crc32C: 1}}}
}

// BenchmarkPassProtoMarshal is the sender's copy of a block into its
// PutShardRequest message (the gateway, before gRPC frames it).
func BenchmarkPassProtoMarshal(b *testing.B) {
	req := passBlockRequest()
	buf := make([]byte, 0, passBlock+64)
	b.SetBytes(passBlock)
	for b.Loop() {
		var err error
		if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf[:0], req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassProtoUnmarshal is the data node's copy of a block out of the
// received message.
func BenchmarkPassProtoUnmarshal(b *testing.B) {
	wire, err := proto.Marshal(passBlockRequest())
	if err != nil {
		b.Fatal(err)
	}
	var req cairnpb.PutShardRequest
	b.SetBytes(passBlock)
	for b.Loop() {
		if err := proto.Unmarshal(wire, &req); err != nil {
			b.Fatal(err)
		}
	}
	if len(req.GetBlock().GetData()) != passBlock {
		b.Fatalf("unmarshalled %d bytes, want %d", len(req.GetBlock().GetData()), passBlock)
	}
}

// BenchmarkPassFileWrite is one write(2) of every shard byte into the page
// cache (no fsync): the floor of getting a byte to a file, before Pebble's
// WAL, sstable and compaction writes multiply it (BenchmarkPutShard
// measures the store itself).
func BenchmarkPassFileWrite(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "pass"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	block := passBlockRequest().GetBlock().GetData()
	const perFile = 256 // blocks (64 MiB) before the file starts over
	b.SetBytes(passBlock)
	n := 0
	for b.Loop() {
		if n == perFile {
			b.StopTimer()
			if err := f.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Seek(0, 0); err != nil {
				b.Fatal(err)
			}
			n = 0
			b.StartTimer()
		}
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
