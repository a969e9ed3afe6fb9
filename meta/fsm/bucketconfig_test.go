package fsm

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestBucketConfigRowsCoverKindOneof reads the BucketConfig.kind oneof by
// reflection: every field has exactly one row taking its type, every row
// names a field, and the fuzz has a generator for every kind.
func TestBucketConfigRowsCoverKindOneof(t *testing.T) {
	kind := (&cairnpb.BucketConfig{}).ProtoReflect().Descriptor().Oneofs().ByName("kind")
	rows := map[protoreflect.Name]bucketConfigRow{}
	for _, row := range bucketConfigRows() {
		if _, dup := rows[row.field]; dup {
			t.Errorf("two rows for kind %q", row.field)
		}
		rows[row.field] = row
		fd := kind.Fields().ByName(row.field)
		if fd == nil {
			t.Errorf("row %q names no field of BucketConfig.kind", row.field)
			continue
		}
		if got, want := row.kind.payload.FullName(), fd.Message().FullName(); got != want {
			t.Errorf("row %q takes %s, the field carries %s", row.field, got, want)
		}
	}
	gens := bucketConfigGens()
	for i := 0; i < kind.Fields().Len(); i++ {
		fd := kind.Fields().Get(i)
		if _, ok := rows[fd.Name()]; !ok {
			t.Errorf("BucketConfig.kind field %q (%d) has no row in bucketConfigRows", fd.Name(), fd.Number())
		}
		if gens[fd.Name()] == nil {
			t.Errorf("BucketConfig.kind field %q has no generator in bucketConfigGens", fd.Name())
		}
	}
	if _, err := newBucketConfigRegistry(bucketConfigRows()); err != nil {
		t.Fatal(err)
	}
}

// TestBucketConfigRegistryRefusesBadTables: a table that misses a kind,
// names one twice or names no field fails to build, and so New fails.
func TestBucketConfigRegistryRefusesBadTables(t *testing.T) {
	full := bucketConfigRows()
	bad := map[string][]bucketConfigRow{
		"missing":    full[1:],
		"twice":      append(bucketConfigRows(), full[0]),
		"no field":   append(bucketConfigRows(), bucketConfigRow{field: "nope", kind: full[0].kind}),
		"wrong type": func() []bucketConfigRow { r := bucketConfigRows(); r[0].kind = r[1].kind; return r }(),
	}
	for name, rows := range bad {
		if _, err := newBucketConfigRegistry(rows); !errors.Is(err, errBucketConfigTable) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSetBucketConfig: several kinds in one command apply together or not
// at all; removal goes through the row, and a kind without one refuses it.
func TestSetBucketConfig(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1))
	md := &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Metadata{Metadata: &cairnpb.BucketMetadataConfig{Metadata: fsmtest.TagMap("a", "1")}}}
	c.mustApply(t, f, fsmtest.ConfigOp("ns", "b", md, fsmtest.VersioningOp("ns", "b", VersioningEnabled).GetConfigs()[0]))
	bk := bucketOf(t, f)
	if bk.GetMetadata()["a"] != "1" || bk.GetVersioning() != VersioningEnabled {
		t.Fatalf("bucket %v", bk)
	}

	// The second config is refused: the first is not applied either.
	other := &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Metadata{Metadata: &cairnpb.BucketMetadataConfig{Metadata: fsmtest.TagMap("b", "2")}}}
	wantUnchanged(t, f, &c, fsmtest.ConfigOp("ns", "b", other, fsmtest.VersioningOp("ns", "b", "Bogus").GetConfigs()[0]), rpcerr.ErrInvalidArgument)
	block := &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_PublicAccessBlock{PublicAccessBlock: &cairnpb.PublicAccessBlock{BlockPublicPolicy: true}}}
	public := &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Policy{Policy: &cairnpb.BucketPolicyConfig{Document: "{}", Public: true}}}
	// Later configs see earlier ones: the block refuses the public policy.
	wantUnchanged(t, f, &c, fsmtest.ConfigOp("ns", "b", block, public), rpcerr.ErrPublicPolicyBlocked)

	// Removal.
	removeVersioning := &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Versioning{Versioning: &cairnpb.BucketVersioningConfig{}}, Remove: true}
	wantUnchanged(t, f, &c, fsmtest.ConfigOp("ns", "b", removeVersioning), rpcerr.ErrInvalidArgument)
	removeMD := &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Metadata{Metadata: &cairnpb.BucketMetadataConfig{}}, Remove: true}
	c.mustApply(t, f, fsmtest.ConfigOp("ns", "b", removeMD))
	if bk := bucketOf(t, f); len(bk.GetMetadata()) != 0 || bk.GetVersioning() != VersioningEnabled {
		t.Fatalf("after removing metadata: %v", bk)
	}

	// Nothing, or no kind, is refused, before proposing too.
	wantUnchanged(t, f, &c, fsmtest.ConfigOp("ns", "b"), rpcerr.ErrInvalidArgument)
	wantUnchanged(t, f, &c, fsmtest.ConfigOp("ns", "b", &cairnpb.BucketConfig{}), rpcerr.ErrInvalidArgument)
	for _, cs := range [][]*cairnpb.BucketConfig{nil, {{}}, {removeVersioning}, {proto.Clone(other).(*cairnpb.BucketConfig), {Kind: &cairnpb.BucketConfig_Metadata{
		Metadata: &cairnpb.BucketMetadataConfig{Metadata: fsmtest.TagMap("", "x")}}}}} {
		fsmtest.WantErr(t, ValidBucketConfigs(cs), rpcerr.ErrInvalidArgument)
	}
	if err := ValidBucketConfigs([]*cairnpb.BucketConfig{other, removeMD}); err != nil {
		t.Fatal(err)
	}
}
