package bufpool

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// poolingThreshold is the smallest message marshalled into a pooled
// buffer; smaller ones are not worth the pool's bookkeeping.
const poolingThreshold = 1 << 10

// Codec is gRPC's protobuf codec over a Pool: messages are marshalled
// into the pool's buffers, and a message that arrived in one piece is
// unmarshalled where it lies, without first being copied into one.
// gRPC's own codec takes its buffers from the process-wide default pool,
// which zeroes them, whatever pool the connection was given.
type Codec struct{ pool *Pool }

var _ encoding.CodecV2 = Codec{}

// NewCodec returns a codec whose buffers come from p.
func NewCodec(p *Pool) Codec { return Codec{pool: p} }

// Name is "proto": the codec stands in for gRPC's protobuf codec, so the
// wire format and content type do not change.
func (Codec) Name() string { return "proto" }

// Marshal encodes v, a proto.Message.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("bufpool: cannot marshal %T: not a proto.Message", v)
	}
	size := proto.Size(m)
	// UseCachedSize: proto.Size has just computed and cached every
	// sub-message's size, and the message is not being changed meanwhile.
	opts := proto.MarshalOptions{UseCachedSize: true}
	if size < poolingThreshold {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := c.pool.Get(size)
	if _, err := opts.MarshalAppend((*buf)[:0], m); err != nil {
		c.pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, c.pool)}, nil
}

// Unmarshal decodes data into v, a proto.Message. Bytes fields are
// copied out of data, which gRPC frees afterwards.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("bufpool: cannot unmarshal into %T: not a proto.Message", v)
	}
	if len(data) == 1 {
		return proto.Unmarshal(data[0].ReadOnlyData(), m)
	}
	buf := data.MaterializeToBuffer(c.pool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}
