package dataclient

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cairn-store/cairn/proto/bufpool"
)

// BlockFrame is one message that carries a Block — a GetShardResponse,
// or a PutShardRequest after its header — as a reader of shards receives
// it: the block's bytes are left where gRPC received them (a buffer of
// the pool) instead of being copied into a new message, and the frame
// holds that buffer until Release or the next message received into it.
// The wire formats are the generated messages'; those types are not used
// on the receiving side so that nothing copies the block's data.
type BlockFrame struct {
	// container is the field of the Block in the enclosing message;
	// other, when set, is the field of what may come instead (a
	// PutShardRequest's header), which leaves the frame with no block.
	container protowire.Number
	other     protowire.Number
	noBlock   bool

	buf   mem.Buffer // nil when released
	index int64
	data  []byte // aliases buf
	crc   uint32
}

// NewPutFrame returns a frame for the blocks of a PutShardRequest stream
// (after its header); a message that is a header, or carries nothing,
// leaves it with HasBlock false.
func NewPutFrame() *BlockFrame {
	return &BlockFrame{container: fieldPutBlock, other: fieldPutHeader}
}

func newGetFrame() BlockFrame { return BlockFrame{container: fieldResponseBlock} }

// HasBlock says whether the last message received carried a block.
func (f *BlockFrame) HasBlock() bool { return !f.noBlock }

// Index, Data and CRC are the block's; Data is valid until Release or the
// next message received into the frame.
func (f *BlockFrame) Index() int64 { return f.index }
func (f *BlockFrame) Data() []byte { return f.data }
func (f *BlockFrame) CRC() uint32  { return f.crc }

// Release gives the frame's buffer back; Data is invalid afterwards.
func (f *BlockFrame) Release() {
	if f.buf != nil {
		f.buf.Free()
		f.buf = nil
	}
	f.data = nil
}

// Field numbers of GetShardResponse, PutShardRequest and Block
// (proto/cairnpb/data.proto); TestBlockFrameMatchesProto decodes the
// generated messages' encoding.
const (
	fieldResponseBlock protowire.Number = 1
	fieldPutHeader     protowire.Number = 1
	fieldPutBlock      protowire.Number = 2
	fieldBlockIndex    protowire.Number = 1
	fieldBlockData     protowire.Number = 2
	fieldBlockCRC      protowire.Number = 3
)

var errFrame = errors.New("dataclient: malformed block message")

// decode parses the enclosing message, aliasing b.
func (f *BlockFrame) decode(b []byte) error {
	var block []byte
	var last protowire.Number // of the oneof's fields, the one seen last
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errFrame
		}
		b = b[n:]
		if num == f.container && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errFrame
			}
			block, b, last = v, b[n:], f.container // the last one wins, as in proto.Unmarshal
			continue
		}
		if f.other != 0 && num == f.other {
			last = f.other
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errFrame
		}
		b = b[n:]
	}
	f.noBlock = f.other != 0 && last != f.container
	f.index, f.data, f.crc = 0, nil, 0
	for len(block) > 0 {
		num, typ, n := protowire.ConsumeTag(block)
		if n < 0 {
			return errFrame
		}
		block = block[n:]
		switch {
		case num == fieldBlockIndex && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(block)
			if n < 0 {
				return errFrame
			}
			f.index, block = int64(v), block[n:]
		case num == fieldBlockData && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(block)
			if n < 0 {
				return errFrame
			}
			f.data, block = v, block[n:]
		case num == fieldBlockCRC && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(block)
			if n < 0 {
				return errFrame
			}
			f.crc, block = uint32(v), block[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, block)
			if n < 0 {
				return errFrame
			}
			block = block[n:]
		}
	}
	return nil
}

// Codec is the pool's protobuf codec (proto/bufpool), which also fills a
// *BlockFrame without copying the block: the frame takes a reference to
// the buffer gRPC received the message in (or to one buffer of the pool
// it is gathered into, when it came in several). Data nodes serve with
// it, and the Pool dials with it.
type Codec struct {
	bufpool.Codec
	pool *bufpool.Pool
}

var _ encoding.CodecV2 = Codec{}

// NewCodec returns the codec over p.
func NewCodec(p *bufpool.Pool) Codec { return Codec{Codec: bufpool.NewCodec(p), pool: p} }

// Unmarshal decodes data into v; a *BlockFrame keeps a reference to it.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*BlockFrame)
	if !ok {
		return c.Codec.Unmarshal(data, v)
	}
	f.Release()
	var buf mem.Buffer
	if len(data) == 1 {
		buf = data[0]
		buf.Ref() // gRPC frees data after Unmarshal; the frame keeps its own reference
	} else {
		buf = data.MaterializeToBuffer(c.pool)
	}
	if err := f.decode(buf.ReadOnlyData()); err != nil {
		buf.Free()
		return fmt.Errorf("%w (%d bytes)", err, data.Len())
	}
	f.buf = buf
	return nil
}
