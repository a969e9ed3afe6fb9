package meta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/keyring"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func testRing(t *testing.T, lines ...string) *keyring.Keyring {
	t.Helper()
	r, err := keyring.Parse([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ringHex(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, keyring.KeySize)) }

// testEnvelope wraps a fresh data key under id, as a gateway does.
func testEnvelope(t *testing.T, r *keyring.Keyring, id string) (*cairnpb.Encryption, []byte) {
	t.Helper()
	e := &cairnpb.Encryption{Algorithm: "cairn-aes256gcm-v1", PackageSize: 65536, NoncePrefix: make([]byte, 4), KeyId: id}
	_, _ = rand.Read(e.NoncePrefix)
	dk := make([]byte, keyring.KeySize)
	_, _ = rand.Read(dk)
	var err error
	e.WrappedKey, err = r.Wrap(id, dk, keyring.EnvelopeAAD(e.Algorithm, int(e.PackageSize), e.NoncePrefix, id, nil))
	if err != nil {
		t.Fatal(err)
	}
	return e, dk
}

// openEnvelope unwraps e's data key with r.
func openEnvelope(r *keyring.Keyring, e *cairnpb.Encryption) ([]byte, error) {
	return r.Unwrap(e.GetKeyId(), e.GetWrappedKey(), keyring.EnvelopeAAD(e.GetAlgorithm(), int(e.GetPackageSize()), e.GetNoncePrefix(), e.GetKeyId(), e.GetCustomerKeySalt()))
}

// restartWithRing restarts every node of c with keyring r.
func restartWithRing(c *TestCluster, r *keyring.Keyring) {
	for i := range c.nodes {
		if c.nodes[i].running() {
			c.Stop(i)
		}
		c.nodes[i].cfg.Keyring = r
		c.nodes[i].cfg.RewrapRate = 200 // slow enough to interrupt
		c.Start(i)
	}
}

func masterKeyStatus(ctx context.Context, t *testing.T, cl *metaclient.Client) *cairnpb.MasterKeyStatusResponse {
	t.Helper()
	st, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.MasterKeyStatusResponse, error) {
		return a.MasterKeyStatus(ctx, &cairnpb.MasterKeyStatusRequest{})
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMasterKeyRotationRewrap: secrets are sealed at rest, a rotation to a
// key outside the keyring is refused, and after a rotation the leader
// re-wraps versions, their parts, parts of uploads in progress and access
// key secrets (a plaintext one included) until nothing is left under the
// old key; SSE-C envelopes are left alone; everything then works with the
// old key removed from the keyring.
func TestMasterKeyRotationRewrap(t *testing.T) {
	old := testRing(t, ringHex(1)).Default()
	both := testRing(t, ringHex(1), "new "+ringHex(2))
	onlyNew := testRing(t, "new "+ringHex(2))
	c := MakeTestCluster(t, 3, time.Now)
	restartWithRing(c, both)
	ctx := testCtx(t, 90*time.Second)
	c.WaitAll(ctx)
	cl := c.Client((c.Leader(ctx) + 1) % 3)

	// The leader publishes its default key.
	for {
		r, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.ActiveMasterKeyResponse, error) {
			return m.ActiveMasterKey(ctx, &cairnpb.ActiveMasterKeyRequest{})
		})
		if err == nil && r.GetKeyId() == old {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("active key %v, %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "ns", Name: "b"})
	})
	dataKeys := map[string][]byte{}
	for i := 0; i < 150; i++ { // more than a few batches
		e, dk := testEnvelope(t, both, old)
		key := fmt.Sprintf("obj-%03d", i)
		dataKeys[key] = dk
		req := commitReq("b", key, fmt.Sprintf("v%03d", i), []byte("sealed bytes"))
		req.Version.Encryption = e
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, req)
		})
	}
	ssec := &cairnpb.Encryption{Algorithm: "cairn-aes256gcm-v1", PackageSize: 65536, NoncePrefix: []byte{1, 2, 3, 4},
		WrappedKey: []byte("wrapped by a customer key"), CustomerKeySalt: []byte("salt"), CustomerKeyHmac: []byte("hmac")}
	req := commitReq("b", "ssec", "vssec", []byte("sealed bytes"))
	req.Version.Encryption = ssec
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return m.CommitObject(ctx, req)
	})
	// A completed multipart version, and an upload left in progress.
	upload := func(key string) (string, []byte) {
		u := mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateMultipartUploadResponse, error) {
			return m.CreateMultipartUpload(ctx, &cairnpb.CreateMultipartUploadRequest{Namespace: "ns", Bucket: "b", Upload: &cairnpb.MultipartUpload{Key: key}})
		}).GetUpload().GetUploadId()
		e, dk := testEnvelope(t, both, old)
		part := &cairnpb.UploadedPart{Part: &cairnpb.PartInfo{Number: 1, Size: 4, Etag: fsmtest.ETag(key), Encryption: e}, InlineData: []byte("part")}
		mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitPartResponse, error) {
			return m.CommitPart(ctx, &cairnpb.CommitPartRequest{Namespace: "ns", Bucket: "b", Key: key, UploadId: u, Part: part})
		})
		return u, dk
	}
	mpID, mpKey := upload("mp")
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CompleteMultipartUploadResponse, error) {
		return m.CompleteMultipartUpload(ctx, &cairnpb.CompleteMultipartUploadRequest{Namespace: "ns", Bucket: "b", Key: "mp", UploadId: mpID,
			Parts: []*cairnpb.CompletedPart{{Number: 1, Etag: fsmtest.ETag("mp")}}})
	})
	openID, openKey := upload("open")

	// Access keys: one made now (sealed), one as older versions stored it.
	for _, op := range []func(context.Context, cairnpb.AdminClient) (any, error){
		func(ctx context.Context, a cairnpb.AdminClient) (any, error) {
			return a.CreateNamespace(ctx, &cairnpb.CreateNamespaceRequest{Name: "tenant"})
		},
		func(ctx context.Context, a cairnpb.AdminClient) (any, error) {
			return a.CreateUser(ctx, &cairnpb.CreateUserRequest{Namespace: "tenant", Name: "alice"})
		},
	} {
		if _, err := admin(ctx, cl, op); err != nil {
			t.Fatal(err)
		}
	}
	created, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreateAccessKeyResponse, error) {
		return a.CreateAccessKey(ctx, &cairnpb.CreateAccessKeyRequest{Namespace: "tenant", User: "alice"})
	})
	if err != nil || created.GetKey().GetSecret() == "" {
		t.Fatalf("create key: %v %v", created, err)
	}
	sealed := created.GetKey()
	leader := c.nodes[c.Leader(ctx)].srv
	legacy := &cairnpb.AccessKey{AccessKeyId: strings.Repeat("ab", 20), Namespace: "tenant", User: "alice", Secret: "legacy-plaintext-secret-0123456789", Active: true}
	if err := leader.node.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_CreateAccessKey{CreateAccessKey: &cairnpb.CreateAccessKeyCmd{Key: legacy}}}); err != nil {
		t.Fatal(err)
	}
	stored := func(id string) *cairnpb.AccessKey {
		var k *cairnpb.AccessKey
		if err := leader.node.store.View(func(r pebble.Reader) error {
			var err error
			k, err = fsm.GetAccessKey(r, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return k
	}
	if k := stored(sealed.GetAccessKeyId()); k.GetSecret() != "" || len(k.GetSealedSecret()) == 0 || k.GetSecretKeyId() != old ||
		bytes.Contains(k.GetSealedSecret(), []byte(sealed.GetSecret())) {
		t.Fatalf("stored new key %v", k)
	}
	lookup := func(id string) string {
		t.Helper()
		r, err := call(ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.LookupAccessKeyResponse, error) {
			return m.LookupAccessKey(ctx, &cairnpb.LookupAccessKeyRequest{AccessKeyId: id})
		})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetSecret()
	}
	if lookup(sealed.GetAccessKeyId()) != sealed.GetSecret() || lookup(legacy.GetAccessKeyId()) != legacy.GetSecret() {
		t.Fatal("lookup before rotation")
	}
	// The plaintext secret counts as left (under ""), until a pass seals it.
	if st := masterKeyStatus(ctx, t, cl); st.GetActiveKeyId() != old || st.GetLeft() > 1 {
		t.Fatalf("before rotation: %v", st)
	}

	_, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RotateMasterKeyResponse, error) {
		return a.RotateMasterKey(ctx, &cairnpb.RotateMasterKeyRequest{To: "missing"})
	})
	fsmtest.WantErr(t, err, rpcerr.ErrInvalidArgument)
	if !strings.Contains(err.Error(), "not in the keyring") {
		t.Fatalf("rotation to a missing key: %v", err)
	}
	rot, err := admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RotateMasterKeyResponse, error) {
		return a.RotateMasterKey(ctx, &cairnpb.RotateMasterKeyRequest{To: "new"})
	})
	if err != nil || rot.GetActiveKeyId() != "new" || rot.GetPreviousKeyId() != old {
		t.Fatalf("rotate: %v %v", rot, err)
	}
	// The leader stops mid-way; the next one finishes the job.
	var st *cairnpb.MasterKeyStatusResponse
	for {
		st = masterKeyStatus(ctx, t, cl)
		if st.GetProgress().GetDone() > 0 && st.GetLeft() > 0 {
			break
		}
		if ctx.Err() != nil || st.GetLeft() == 0 {
			t.Fatalf("re-wrap not caught mid-way: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := c.Leader(ctx)
	c.Stop(stopped)
	cl = c.Client((stopped + 1) % 3)
	for {
		st, err = admin(ctx, cl, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.MasterKeyStatusResponse, error) {
			return a.MasterKeyStatus(ctx, &cairnpb.MasterKeyStatusRequest{})
		})
		if err == nil && st.GetLeft() == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("re-wrap did not finish: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(st.GetCounts()) != 1 || st.GetCounts()[0].GetKeyId() != "new" || st.GetCounts()[0].GetVersions() != 151 ||
		st.GetCounts()[0].GetUploadParts() != 1 || st.GetCounts()[0].GetAccessKeys() != 2 || st.GetProgress().GetDone() == 0 {
		t.Fatalf("after re-wrap: %v", st)
	}

	// The old key goes; everything still opens.
	restartWithRing(c, onlyNew)
	c.WaitAll(ctx)
	cl = c.Client()
	get := func(key string) *cairnpb.ObjectVersion {
		t.Helper()
		return mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
			return m.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: "ns", Bucket: "b", Key: key})
		}).GetVersion()
	}
	for key, want := range dataKeys {
		v := get(key)
		got, err := openEnvelope(onlyNew, v.GetEncryption())
		if err != nil || !bytes.Equal(got, want) || string(v.GetInlineData()) != "sealed bytes" {
			t.Fatalf("%s: %v", key, err)
		}
	}
	if got, err := openEnvelope(onlyNew, get("mp").GetParts()[0].GetEncryption()); err != nil || !bytes.Equal(got, mpKey) {
		t.Fatalf("multipart part: %v", err)
	}
	leader = c.nodes[c.Leader(ctx)].srv
	part := &cairnpb.UploadedPart{}
	if err := leader.node.store.View(func(r pebble.Reader) error {
		_, err := fsm.GetProto(r, fsm.PartKey(openID, 1), part)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := openEnvelope(onlyNew, part.GetPart().GetEncryption()); err != nil || !bytes.Equal(got, openKey) || string(part.GetInlineData()) != "part" {
		t.Fatalf("part in progress: %v", err)
	}
	if e := get("ssec").GetEncryption(); !bytes.Equal(e.GetWrappedKey(), ssec.GetWrappedKey()) || e.GetKeyId() != "" {
		t.Fatalf("SSE-C envelope changed: %v", e)
	}
	if lookup(sealed.GetAccessKeyId()) != sealed.GetSecret() || lookup(legacy.GetAccessKeyId()) != legacy.GetSecret() {
		t.Fatal("lookup after rotation")
	}
	if k := stored(legacy.GetAccessKeyId()); k.GetSecret() != "" || k.GetSecretKeyId() != "new" {
		t.Fatalf("legacy key not sealed: %v", k)
	}
	if st := masterKeyStatus(ctx, t, cl); st.GetActiveKeyId() != "new" || st.GetLeft() != 0 {
		t.Fatalf("after restart: %v", st)
	}
}
