package fsmtest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Logger discards logs unless CAIRN_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("CAIRN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// BucketID is a bucket ID of the FSM's length (16 bytes) filled with n.
func BucketID(n byte) []byte { return bytes.Repeat([]byte{n}, 16) }

// CreateBucketOp creates bucket name in namespace ns with BucketID(id).
func CreateBucketOp(ns, name string, id byte) *cairnpb.CreateBucketCmd {
	return &cairnpb.CreateBucketCmd{Bucket: &cairnpb.Bucket{Namespace: ns, Name: name, Id: BucketID(id)}}
}

// PutOp puts version of key: inline ("inline:"+key) when no nodes are
// given, else with shard i on nodes[i].
func PutOp(ns, bucket, key, version string, nodes ...string) *cairnpb.PutObjectCmd {
	v := &cairnpb.ObjectVersion{Key: key, VersionId: version, Size: int64(len(key)), Etag: "e-" + version}
	for i, n := range nodes {
		v.Shards = append(v.Shards, &cairnpb.ShardLocation{Index: int32(i), NodeId: n})
	}
	if len(nodes) == 0 {
		v.InlineData = []byte("inline:" + key)
	}
	return &cairnpb.PutObjectCmd{Namespace: ns, Bucket: bucket, Version: v}
}

// WantErr fails t unless errors.Is(err, want).
func WantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// NamespaceOp creates namespace name.
func NamespaceOp(name string) *cairnpb.CreateNamespaceCmd {
	return &cairnpb.CreateNamespaceCmd{Namespace: &cairnpb.Namespace{Name: name}}
}

// UserOp creates user name in namespace ns.
func UserOp(ns, name string) *cairnpb.CreateUserCmd {
	return &cairnpb.CreateUserCmd{User: &cairnpb.User{Namespace: ns, Name: name}}
}

// UploadID makes a well-formed upload ID from n.
func UploadID(n int) string { return fmt.Sprintf("%032x", n) }

// ETag is the MD5 ETag of s.
func ETag(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// PartOp commits part n of upload id with size bytes: inline (with body
// bytes of that length) when no nodes are given, else on nodes under base.
func PartOp(bucket, key string, id int, n int32, size int64, base string, nodes ...string) *cairnpb.CommitPartCmd {
	p := &cairnpb.UploadedPart{Part: &cairnpb.PartInfo{Number: n, Size: size, Etag: ETag(base), ShardBase: base,
		Checksums: map[string]string{"CRC32": "c-" + base}}}
	if len(nodes) == 0 {
		p.InlineData = bytes.Repeat([]byte{byte(n)}, int(size))
	} else {
		p.Part.Scheme = &cairnpb.ErasureScheme{Data: 2, Parity: 1, BlockSize: 1024}
		for i, node := range nodes {
			p.Part.Shards = append(p.Part.Shards, &cairnpb.ShardLocation{Index: int32(i), NodeId: node})
		}
	}
	return &cairnpb.CommitPartCmd{Namespace: "ns", Bucket: bucket, Key: key, UploadId: UploadID(id), Part: p}
}

// Listed names part n, committed by PartOp under base, in a completion.
func Listed(n int32, base string) *cairnpb.CompletedPart {
	return &cairnpb.CompletedPart{Number: n, Etag: ETag(base)}
}

// TagMap makes a tag set from key, value pairs.
func TagMap(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// ConfigOp sets (or removes) configurations of bucket ns/name.
func ConfigOp(ns, name string, cs ...*cairnpb.BucketConfig) *cairnpb.SetBucketConfigCmd {
	return &cairnpb.SetBucketConfigCmd{Namespace: ns, Name: name, Configs: cs}
}

// VersioningOp sets bucket ns/name's versioning status.
func VersioningOp(ns, name, status string) *cairnpb.SetBucketConfigCmd {
	return ConfigOp(ns, name, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Versioning{
		Versioning: &cairnpb.BucketVersioningConfig{Status: status}}})
}
