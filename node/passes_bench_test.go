package node

import (
	"bytes"
	"io"
	"net"
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

// BenchmarkPassFileRead is one read(2) of every shard byte from the page
// cache: a GET's floor for getting a stored byte back.
func BenchmarkPassFileRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "pass")
	block := passBlockRequest().GetBlock().GetData()
	const perFile = 256 // 64 MiB
	if err := os.WriteFile(path, bytes.Repeat(block, perFile), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, passBlock)
	b.SetBytes(passBlock)
	i := 0
	for b.Loop() {
		if _, err := f.ReadAt(buf, int64(i%perFile)*passBlock); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPassLoopbackTCP is one trip of every byte over a loopback TCP
// connection (send and receive syscalls and the kernel's copies): what
// each hop costs, client to gateway and gateway to data node. Sender and
// receiver run on both cores; the figure is wall time.
func BenchmarkPassLoopbackTCP(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer lis.Close()
	done := make(chan error, 1)
	go func() {
		c, err := lis.Accept()
		if err == nil {
			_, err = io.CopyBuffer(io.Discard, c, make([]byte, passBlock))
			c.Close()
		}
		done <- err
	}()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	block := passBlockRequest().GetBlock().GetData()
	b.SetBytes(passBlock)
	for b.Loop() {
		if _, err := c.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
