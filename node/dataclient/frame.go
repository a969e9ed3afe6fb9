package dataclient

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cairn-store/cairn/proto/bufpool"
)

// blockFrame is one GetShardResponse as the shard reader receives it: the
// block's bytes are left where gRPC received them (a buffer of the pool)
// instead of being copied into a new message, and the frame holds that
// buffer until release. The wire format is GetShardResponse's; the
// message type is not used on this side so that nothing copies Data.
type blockFrame struct {
	buf   mem.Buffer // nil when released
	index int64
	data  []byte // aliases buf
	crc   uint32
}

// release gives the frame's buffer back; data is invalid afterwards.
func (f *blockFrame) release() {
	if f.buf != nil {
		f.buf.Free()
		f.buf = nil
	}
	f.data = nil
}

// Field numbers of GetShardResponse and Block (proto/cairnpb/data.proto);
// TestBlockFrameMatchesProto decodes the generated messages' encoding.
const (
	fieldResponseBlock protowire.Number = 1
	fieldBlockIndex    protowire.Number = 1
	fieldBlockData     protowire.Number = 2
	fieldBlockCRC      protowire.Number = 3
)

var errFrame = errors.New("dataclient: malformed GetShardResponse")

// decode parses a GetShardResponse, aliasing b.
func (f *blockFrame) decode(b []byte) error {
	var block []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errFrame
		}
		b = b[n:]
		if num == fieldResponseBlock && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errFrame
			}
			block, b = v, b[n:] // the last one wins, as in proto.Unmarshal
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errFrame
		}
		b = b[n:]
	}
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

// codec is the pool's protobuf codec (proto/bufpool), which also fills a
// *blockFrame without copying the block: the frame takes a reference to
// the buffer gRPC received the message in (or to one buffer of the pool
// it is gathered into, when it came in several).
type codec struct {
	bufpool.Codec
	pool *bufpool.Pool
}

var _ encoding.CodecV2 = codec{}

func newCodec(p *bufpool.Pool) codec { return codec{Codec: bufpool.NewCodec(p), pool: p} }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*blockFrame)
	if !ok {
		return c.Codec.Unmarshal(data, v)
	}
	f.release()
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
