package jobs

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func testVersionID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixNano()))
	b[15] = 7
	return hex.EncodeToString(b[:])
}

// TestOrphanFence: a version or part whose data started being written more
// than three quarters of the orphan grace ago is refused at commit, with a
// definitive error; younger ones, shardless ones and IDs of another form
// pass.
func TestOrphanFence(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	fresh, stale := testVersionID(now.Add(-44*time.Minute)), testVersionID(now.Add(-46*time.Minute))
	if got, ok := versionIDTime(fresh); !ok || !got.Equal(now.Add(-44*time.Minute)) {
		t.Fatalf("versionIDTime(%s) = %v, %v", fresh, got, ok)
	}
	loc := []*cairnpb.ShardLocation{{Index: 0, NodeId: "d1"}}
	cases := []struct {
		name string
		v    *cairnpb.ObjectVersion
		ok   bool
	}{
		{"fresh", &cairnpb.ObjectVersion{VersionId: fresh, Shards: loc}, true},
		{"stale", &cairnpb.ObjectVersion{VersionId: stale, Shards: loc}, false},
		{"stale but inline", &cairnpb.ObjectVersion{VersionId: stale}, true},
		{"other ID form", &cairnpb.ObjectVersion{VersionId: "v1", Shards: loc}, true},
		{"stale part", &cairnpb.ObjectVersion{VersionId: fresh, Parts: []*cairnpb.PartInfo{{ShardBase: stale, Shards: loc}}}, false},
	}
	for _, tc := range cases {
		err := CheckVersionFence(now, time.Hour, tc.v)
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, rpcerr.ErrInvalidArgument) {
			t.Errorf("%s: %v is not a definitive refusal", tc.name, err)
		}
	}
}
