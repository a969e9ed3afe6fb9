package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// keyCtl runs cairnctl with the cluster's admin token; wantOK says whether
// it must succeed. It returns stdout (and stderr when it fails).
func keyCtl(t *testing.T, c *harness.Cluster, wantOK bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(cairnctlBin, append(append([]string{"--addr", strings.Join(c.MetaAddrs, ","), "--timeout", "20s"}, c.TrustArgs()...), args...)...)
	cmd.Env = append(os.Environ(), "CAIRN_ADMIN_TOKEN="+c.AdminToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err == nil) != wantOK {
		t.Fatalf("cairnctl %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

type masterKeyStatusOut struct {
	ActiveKeyID string `json:"active_key_id"`
	Counts      []struct {
		KeyID       string `json:"key_id"`
		Versions    int64  `json:"versions"`
		UploadParts int64  `json:"upload_parts"`
		AccessKeys  int64  `json:"access_keys"`
	} `json:"counts"`
	Left int64 `json:"left"`
	Done int64 `json:"done"`
}

func masterKeyStatusOf(t *testing.T, c *harness.Cluster) masterKeyStatusOut {
	t.Helper()
	var st masterKeyStatusOut
	out := keyCtl(t, c, true, "masterkey", "status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("masterkey status: %v\n%s", err, out)
	}
	return st
}

// restartKeyHolders restarts every meta node and the gateway (they read the
// keyring at start) and waits for the cluster.
func restartKeyHolders(t *testing.T, c *harness.Cluster) {
	t.Helper()
	for _, p := range append(append([]*harness.Proc(nil), c.Metas...), c.Gateway) {
		if err := p.Restart(); err != nil {
			t.Fatalf("restart %s: %v", p.Name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, len(c.Datas)); err != nil {
		t.Fatalf("cluster after restart: %v", err)
	}
}

// TestMasterKeyRotation: objects written before, during and after a master
// key rotation (plain, SSE-C, multipart, an upload left in progress) and a
// user's access key all survive the re-wrap, then a restart of every meta
// node and gateway with the old key removed from the keyring. Last, no
// access key secret is anywhere on disk.
func TestMasterKeyRotation(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraGW: []string{"--allow-insecure-ssec"}})
	cl := client(c)
	const bucket = "rotation"
	mustCreateBucket(t, cl, bucket)
	ssec := newSSEKey(7)

	oldLine, err := os.ReadFile(c.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	st := masterKeyStatusOf(t, c)
	oldID := st.ActiveKeyID
	if !strings.HasPrefix(oldID, "mk-") {
		t.Fatalf("initial active key %q", oldID)
	}

	// Before: plain inline and erasure-coded, SSE-C, multipart, an upload
	// in progress, and a user with an access key.
	plain := map[string][]byte{}
	putPlain := func(key string, body []byte) {
		mustPut(t, cl, bucket, key, body)
		plain[key] = body
	}
	putPlain("before/small", pattern(1, 3000))
	putPlain("before/large", pattern(2, 700<<10))
	ctx := ctxT(t, 10*time.Minute)
	for _, n := range []int{2000, 400 << 10} {
		if _, err := ssePut(ctx, cl, bucket, fmt.Sprintf("before/ssec-%d", n), pattern(int64(n), n), ssec); err != nil {
			t.Fatal(err)
		}
	}
	mpParts := [][]byte{pattern(10, 5<<20), pattern(11, 1234)}
	multipart(t, cl, bucket, "before/multipart", mpParts, true)
	openParts := [][]byte{pattern(20, 5<<20), pattern(21, 777)}
	openID, openETags := multipartStart(t, cl, bucket, "before/open-upload", openParts)

	keyCtl(t, c, true, "namespace", "create", "rotation-tenant")
	keyCtl(t, c, true, "user", "create", "-n", "rotation-tenant", "carol")
	grantAll(t, c, "rotation-tenant", "carol")
	var uk ctlKey
	if err := json.Unmarshal([]byte(keyCtl(t, c, true, "key", "create", "-n", "rotation-tenant", "-u", "carol", "-o", "json")), &uk); err != nil {
		t.Fatal(err)
	}
	user := s3Client(c, uk.AccessKeyID, uk.Secret)
	mustCreateBucket(t, user, "carol")
	mustPut(t, user, "carol", "note", []byte("carol's note"))

	// Add a second key to every keyring (the old one stays the default),
	// then restart the key holders.
	newRaw := pattern(99, 32)
	keyring := fmt.Sprintf("# rotation test keyring\n%s\nk2 %s\n", bytes.TrimSpace(oldLine), hex.EncodeToString(newRaw))
	if err := os.WriteFile(c.MasterKeyFile, []byte(keyring), 0o600); err != nil {
		t.Fatal(err)
	}
	restartKeyHolders(t, c)
	if st := masterKeyStatusOf(t, c); st.ActiveKeyID != oldID {
		t.Fatalf("active key after adding k2: %q", st.ActiveKeyID)
	}

	// Refused: a key no keyring holds.
	if msg := keyCtl(t, c, false, "masterkey", "rotate", "--to", "k3"); !strings.Contains(msg, "not in the keyring") {
		t.Fatalf("rotation to a missing key: %s", msg)
	}

	// During: a writer runs across the rotation.
	var (
		mu      sync.Mutex
		during  = map[string][]byte{}
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		wErrors []error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("during/%04d", i)
			body := pattern(int64(1000+i), []int{1500, 200 << 10}[i%2])
			if err := put(ctx, cl, bucket, key, body); err != nil {
				mu.Lock()
				wErrors = append(wErrors, fmt.Errorf("%s: %w", key, err))
				mu.Unlock()
				continue
			}
			mu.Lock()
			during[key] = body
			mu.Unlock()
		}
	}()
	time.Sleep(2 * time.Second)
	out := keyCtl(t, c, true, "masterkey", "rotate", "--to", "k2")
	if !strings.Contains(out, "active master key: k2") {
		t.Fatalf("rotate: %s", out)
	}
	time.Sleep(5 * time.Second) // past the gateways' refresh
	close(stop)
	wg.Wait()
	if len(wErrors) > 0 || len(during) < 4 {
		t.Fatalf("writer during rotation: %d writes, errors %v", len(during), wErrors)
	}
	if !strings.Contains(c.Gateway.LogTail(1<<20), "master key rotated") {
		t.Fatal("the gateway never switched to k2")
	}

	// After.
	putPlain("after/small", pattern(3, 2500))
	putPlain("after/large", pattern(4, 900<<10))
	if _, err := ssePut(ctx, cl, bucket, "after/ssec", pattern(5, 70000), ssec); err != nil {
		t.Fatal(err)
	}

	// The re-wrap finishes: nothing left under the old key.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st = masterKeyStatusOf(t, c)
		if st.ActiveKeyID == "k2" && st.Left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-wrap unfinished: %+v", st)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(st.Counts) != 1 || st.Counts[0].KeyID != "k2" || st.Counts[0].UploadParts != 2 || st.Counts[0].AccessKeys != 1 || st.Done == 0 {
		t.Fatalf("status after re-wrap: %+v", st)
	}
	t.Logf("re-wrapped %d keys; %d versions' keys under k2", st.Done, st.Counts[0].Versions)

	// The strongest proof: the old key is gone from every keyring.
	if err := os.WriteFile(c.MasterKeyFile, []byte("k2 "+hex.EncodeToString(newRaw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	restartKeyHolders(t, c)

	for key, body := range plain {
		mustGetEqual(t, cl, bucket, key, body)
	}
	for key, body := range during {
		mustGetEqual(t, cl, bucket, key, body)
	}
	for _, n := range []int{2000, 400 << 10} {
		got, _, err := sseGet(ctx, cl, bucket, fmt.Sprintf("before/ssec-%d", n), "", ssec)
		if err != nil || !bytes.Equal(got, pattern(int64(n), n)) {
			t.Fatalf("SSE-C before/ssec-%d: %v", n, err)
		}
	}
	if got, _, err := sseGet(ctx, cl, bucket, "after/ssec", "", ssec); err != nil || !bytes.Equal(got, pattern(5, 70000)) {
		t.Fatalf("SSE-C after/ssec: %v", err)
	}
	mustGetEqual(t, cl, bucket, "before/multipart", bytes.Join(mpParts, nil))
	if got, err := get(ctx, cl, bucket, "before/multipart", "bytes=5242000-5243000"); err != nil || !bytes.Equal(got, bytes.Join(mpParts, nil)[5242000:5243001]) {
		t.Fatalf("multipart range across parts: %v", err)
	}
	multipartComplete(t, cl, bucket, "before/open-upload", openID, openETags)
	mustGetEqual(t, cl, bucket, "before/open-upload", bytes.Join(openParts, nil))
	mustGetEqual(t, user, "carol", "note", []byte("carol's note"))
	mustPut(t, user, "carol", "after-restart", []byte("still works"))
	mustGetEqual(t, user, "carol", "after-restart", []byte("still works"))

	// A key made now is sealed under k2 from the start.
	var uk2 ctlKey
	if err := json.Unmarshal([]byte(keyCtl(t, c, true, "key", "create", "-n", "rotation-tenant", "-u", "carol", "-o", "json")), &uk2); err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, s3Client(c, uk2.AccessKeyID, uk2.Secret), "carol", "note", []byte("carol's note"))
	if st := masterKeyStatusOf(t, c); st.Left != 0 || len(st.Counts) != 1 || st.Counts[0].AccessKeys != 2 {
		t.Fatalf("status at the end: %+v", st)
	}

	// No secret on disk: stop everything and search every file.
	for _, p := range c.All() {
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	var needles [][]byte
	for _, k := range []ctlKey{uk, uk2} {
		raw, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil || len(raw) != 32 {
			t.Fatalf("secret of %s is not 32 bytes of base64", k.AccessKeyID)
		}
		needles = append(needles, []byte(k.Secret), raw)
	}
	files, scanned := searchTree(t, c.Root, needles)
	if files == 0 || scanned < 1<<20 {
		t.Fatalf("searched %d files, %d bytes: the search saw no data", files, scanned)
	}
	t.Logf("no access key secret in %d files (%d bytes) under %s", files, scanned, c.Root)
}

// searchTree fails the test for every file under root holding one of
// needles, and returns how many files and bytes it searched.
func searchTree(t *testing.T, root string, needles [][]byte) (files int, scanned int64) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		scanned += int64(len(b))
		for i, n := range needles {
			if at := bytes.Index(b, n); at >= 0 {
				t.Errorf("secret %d found in %s at offset %d", i, path, at)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, scanned
}

// multipartStart creates an upload and uploads parts; it returns the upload
// ID and the parts' ETags.
func multipartStart(t *testing.T, cl *s3.Client, bucket, key string, parts [][]byte) (string, []string) {
	t.Helper()
	ctx := ctxT(t, 5*time.Minute)
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var etags []string
	for i, p := range parts {
		out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("upload part %d of %s: %v", i+1, key, err)
		}
		etags = append(etags, aws.ToString(out.ETag))
	}
	return aws.ToString(up.UploadId), etags
}

func multipartComplete(t *testing.T, cl *s3.Client, bucket, key, uploadID string, etags []string) {
	t.Helper()
	var done []types.CompletedPart
	for i, e := range etags {
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: aws.String(e)})
	}
	if _, err := cl.CompleteMultipartUpload(ctxT(t, 5*time.Minute), &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: aws.String(uploadID), MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatalf("complete %s: %v", key, err)
	}
}

// multipart uploads parts as one object (completing it when complete).
func multipart(t *testing.T, cl *s3.Client, bucket, key string, parts [][]byte, complete bool) {
	t.Helper()
	id, etags := multipartStart(t, cl, bucket, key, parts)
	if complete {
		multipartComplete(t, cl, bucket, key, id, etags)
	}
}
