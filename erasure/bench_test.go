package erasure

import (
	"bytes"
	"context"
	"io"
	"testing"
)

const (
	benchK, benchM = 4, 2
	benchBlock     = 256 << 10
	benchSize      = 64 << 20
)

func BenchmarkEncode(b *testing.B) {
	c := mustCoder(b, benchK, benchM, benchBlock)
	ws := discardWriters(benchK + benchM)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(context.Background(), newPatternReader(benchSize), ws, benchK+benchM); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkDecode(b *testing.B, lost ...int) {
	c := mustCoder(b, benchK, benchM, benchBlock)
	data, err := io.ReadAll(newPatternReader(benchSize))
	if err != nil {
		b.Fatal(err)
	}
	st, l := encodeToStore(b, c, data)
	st.lose(lost...)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Decode(context.Background(), io.Discard, l, st.Open, 0, l.Size); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var out bytes.Buffer
	if err := c.Decode(context.Background(), &out, l, st.Open, 0, l.Size); err != nil || !bytes.Equal(out.Bytes(), data) {
		b.Fatalf("decoded bytes differ: %v", err)
	}
}

// BenchmarkDecode reads a whole object on the happy path (data shards only).
func BenchmarkDecode(b *testing.B) { benchmarkDecode(b) }

// BenchmarkDecodeDegraded reads a whole object with two data shards lost,
// so every stripe is reconstructed.
func BenchmarkDecodeDegraded(b *testing.B) { benchmarkDecode(b, 0, 2) }
