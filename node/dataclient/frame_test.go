package dataclient

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/bufpool"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func TestGetShardDesc(t *testing.T) {
	d := getShardDesc()
	for _, s := range cairnpb.Data_ServiceDesc.Streams {
		if s.StreamName == "GetShard" {
			if d.StreamName != "GetShard" || !d.ServerStreams || d.ClientStreams {
				t.Fatalf("desc %+v", d)
			}
			return
		}
	}
	t.Fatal("the generated Data service has no GetShard stream")
}

// The hand decoder reads exactly what the generated message encodes,
// whether the message arrives in one buffer or several, and skips
// fields it does not know.
func TestBlockFrameMatchesProto(t *testing.T) {
	c := NewCodec(bufpool.New())
	for _, in := range []*cairnpb.GetShardResponse{
		{Block: &cairnpb.Block{Index: 0, Data: nil, Crc32C: 0}},
		{Block: &cairnpb.Block{Index: 3, Data: []byte("abc"), Crc32C: 0xDEADBEEF}},
		{Block: &cairnpb.Block{Index: 1 << 40, Data: bytes.Repeat([]byte{7}, 256<<10), Crc32C: 1}},
	} {
		wire, err := proto.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		// An unknown field before the block, as a later version might send.
		wire = append([]byte{0x50, 0x01}, wire...) // field 10, varint 1
		half := len(wire) / 2
		for _, data := range []mem.BufferSlice{
			{mem.SliceBuffer(wire)},
			{mem.SliceBuffer(wire[:half]), mem.SliceBuffer(wire[half:])},
		} {
			f := newGetFrame()
			if err := c.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			b := in.GetBlock()
			if f.index != b.GetIndex() || f.crc != b.GetCrc32C() || !bytes.Equal(f.data, b.GetData()) {
				t.Fatalf("decoded index %d crc %x %d bytes; sent %d %x %d", f.index, f.crc, len(f.data), b.GetIndex(), b.GetCrc32C(), len(b.GetData()))
			}
			f.Release()
			if f.buf != nil || f.data != nil {
				t.Fatal("release kept the buffer")
			}
		}
	}
	f := newGetFrame()
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0x05, 0x08})}, &f); err == nil {
		t.Fatal("a truncated message decoded")
	}
	// Other messages still go through the protobuf codec.
	var req cairnpb.GetShardRequest
	wire, _ := proto.Marshal(&cairnpb.GetShardRequest{ShardId: "s", FirstBlock: 2})
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &req); err != nil || req.GetShardId() != "s" || req.GetFirstBlock() != 2 {
		t.Fatalf("GetShardRequest: %v %v", err, &req)
	}
}

// A PutShardRequest's block decodes the same way; its header, where a
// block is due, is an error.
func TestPutFrame(t *testing.T) {
	c := NewCodec(bufpool.New())
	in := &cairnpb.Block{Index: 9, Data: bytes.Repeat([]byte{1, 2}, 3000), Crc32C: 77}
	wire, err := proto.Marshal(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: in}})
	if err != nil {
		t.Fatal(err)
	}
	f := NewPutFrame()
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, f); err != nil {
		t.Fatal(err)
	}
	if f.Index() != 9 || f.CRC() != 77 || !bytes.Equal(f.Data(), in.GetData()) {
		t.Fatalf("decoded %d %d %d bytes", f.Index(), f.CRC(), len(f.Data()))
	}
	f.Release()
	hdr, _ := proto.Marshal(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: "x"}}})
	if !f.HasBlock() {
		t.Fatal("a block message has no block")
	}
	for name, msg := range map[string][]byte{"a header": hdr, "nothing": nil, "a block then a header": append(append([]byte(nil), wire...), hdr...)} {
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(msg)}, f); err != nil || f.HasBlock() {
			t.Fatalf("%s where a block was due: %v, HasBlock %v", name, err, f.HasBlock())
		}
	}
}
