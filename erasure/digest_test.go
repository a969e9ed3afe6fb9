package erasure

import "testing"

func TestDigestDependsOnEveryBlock(t *testing.T) {
	build := func(lens []int, crcs []uint32) uint64 {
		d := NewDigest()
		for i := range lens {
			d.Add(lens[i], crcs[i])
		}
		return d.Sum()
	}
	base := build([]int{256, 256, 10}, []uint32{1, 2, 3})
	if base == 0 {
		t.Fatal("digest is 0")
	}
	if again := build([]int{256, 256, 10}, []uint32{1, 2, 3}); again != base {
		t.Fatalf("same blocks: %x then %x", base, again)
	}
	for name, other := range map[string]uint64{
		"crc changed":    build([]int{256, 256, 10}, []uint32{1, 2, 4}),
		"length changed": build([]int{256, 256, 11}, []uint32{1, 2, 3}),
		"blocks swapped": build([]int{256, 256, 10}, []uint32{2, 1, 3}),
		"block dropped":  build([]int{256, 256}, []uint32{1, 2}),
		"empty":          NewDigest().Sum(),
	} {
		if other == base {
			t.Errorf("%s: digest unchanged (%x)", name, base)
		}
	}
}
