package bench

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"testing/iotest"
)

// naiveBody builds the expected body of key index i by repeating the
// pattern, the slow obvious way.
func naiveBody(p *pattern, i, size int64) []byte {
	out := make([]byte, 0, size)
	at := p.offset(i)
	for int64(len(out)) < size {
		out = append(out, p.buf[at])
		at = (at + 1) % int64(len(p.buf))
	}
	return out
}

func TestBodyReader(t *testing.T) {
	for _, tc := range []struct {
		name        string
		objectSize  int64
		bodySize    int64 // differs from objectSize only to stress wrap-around
		keyIndex    int64
		patternSize int
	}{
		{"empty", 0, 0, 3, 1},
		{"tiny", 5, 5, 1, 5},
		{"one-pattern", patternSize, patternSize, 7, patternSize},
		{"wraps", patternSize, 3*patternSize + 12345, 42, patternSize},
		{"small-pattern-wraps", 1000, 5000, 9, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPattern(tc.objectSize)
			if len(p.buf) != tc.patternSize {
				t.Fatalf("pattern is %d bytes, want %d", len(p.buf), tc.patternSize)
			}
			want := naiveBody(p, tc.keyIndex, tc.bodySize)
			if err := iotest.TestReader(p.body(tc.keyIndex, tc.bodySize), want); err != nil {
				t.Fatal(err)
			}
			// WriteTo (used by io.Copy) produces the same bytes.
			var got bytes.Buffer
			n, err := io.Copy(&got, p.body(tc.keyIndex, tc.bodySize))
			if err != nil || n != tc.bodySize || !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("io.Copy: n=%d err=%v equal=%v", n, err, bytes.Equal(got.Bytes(), want))
			}
			// Rewinding after a full read replays the body, as the SDK
			// does after hashing it; SeekEnd reports the length.
			r := p.body(tc.keyIndex, tc.bodySize)
			_, _ = io.Copy(io.Discard, r)
			if end, err := r.Seek(0, io.SeekEnd); err != nil || end != tc.bodySize {
				t.Fatalf("Seek(0, End) = %d, %v", end, err)
			}
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			again, _ := io.ReadAll(r)
			if !bytes.Equal(again, want) {
				t.Fatal("body differs after rewind")
			}
			if !p.matches(tc.keyIndex, 0, want) {
				t.Fatal("matches rejects the body itself")
			}
			if tc.bodySize > 2 {
				if !p.matches(tc.keyIndex, 1, want[1:tc.bodySize-1]) {
					t.Fatal("matches rejects an interior slice")
				}
				bad := bytes.Clone(want)
				bad[len(bad)-1] ^= 1
				if p.matches(tc.keyIndex, 0, bad) {
					t.Fatal("matches accepts a corrupted body")
				}
			}
		})
	}
}

func TestBodyReaderReadAt(t *testing.T) {
	const size = 2*patternSize + 777
	p := newPattern(size)
	want := naiveBody(p, 5, size)
	r := p.body(5, size)
	var wg sync.WaitGroup
	for g := range 4 { // ReadAt is documented safe for concurrent use
		wg.Go(func() {
			b := make([]byte, patternSize/3+g)
			for off := int64(g); off < size; off += int64(len(b)) - 1 {
				n, err := r.ReadAt(b, off)
				end := min(off+int64(len(b)), size)
				if int64(n) != end-off || !bytes.Equal(b[:n], want[off:end]) {
					t.Errorf("ReadAt(%d, off %d) = %d bytes, differing from the body", len(b), off, n)
					return
				}
				if (end < off+int64(len(b))) != (err == io.EOF) || (err != nil && err != io.EOF) {
					t.Errorf("ReadAt(%d, off %d) error = %v", len(b), off, err)
				}
			}
		})
	}
	wg.Wait()
	if n, err := r.ReadAt(make([]byte, 1), size); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v; want 0, EOF", n, err)
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt accepted a negative offset")
	}
	if r.pos != 0 {
		t.Errorf("ReadAt moved the read position to %d", r.pos)
	}
}

func TestBodyReaderSeek(t *testing.T) {
	r := newPattern(100).body(0, 100)
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Error("negative seek accepted")
	}
	if _, err := r.Seek(0, 42); err == nil {
		t.Error("bad whence accepted")
	}
	if pos, _ := r.Seek(10, io.SeekStart); pos != 10 {
		t.Errorf("pos = %d", pos)
	}
	if pos, _ := r.Seek(5, io.SeekCurrent); pos != 15 {
		t.Errorf("pos = %d", pos)
	}
	if pos, _ := r.Seek(-20, io.SeekEnd); pos != 80 {
		t.Errorf("pos = %d", pos)
	}
	if _, err := r.Seek(200, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("read past end = %d, %v", n, err)
	}
}

func TestPatternDeterministic(t *testing.T) {
	a, b := newPattern(1<<30), newPattern(1<<30)
	if len(a.buf) != patternSize || !bytes.Equal(a.buf, b.buf) {
		t.Fatal("patterns are not bounded and deterministic")
	}
	if bytes.Equal(a.buf[:64], make([]byte, 64)) {
		t.Fatal("pattern is not filled")
	}
	if a.offset(1) == a.offset(2) {
		t.Error("neighbouring keys start at the same offset")
	}
}
