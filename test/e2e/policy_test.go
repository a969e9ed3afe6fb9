package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// newKey creates an access key for a user with cairnctl.
func newKey(t *testing.T, c *harness.Cluster, ns, user string) ctlKey {
	t.Helper()
	var k ctlKey
	if err := json.Unmarshal(ctl(t, c, "key", "create", "-n", ns, "-u", user, "-o", "json"), &k); err != nil {
		t.Fatal(err)
	}
	if k.AccessKeyID == "" || k.Secret == "" {
		t.Fatalf("created key %+v", k)
	}
	return k
}

// grantAll gives user every right in its namespace: a group of its own
// ("all-<user>") with a policy allowing it to manage all-resources in the
// tenancy.
func grantAll(t *testing.T, c *harness.Cluster, ns, user string) {
	t.Helper()
	group := "all-" + user
	ctl(t, c, "group", "create", "-n", ns, group)
	ctl(t, c, "group", "add-user", "-n", ns, group, user)
	ctl(t, c, "policy", "create", "-n", ns, group, "--statement", "Allow group "+group+" to manage all-resources in tenancy")
}

// dialAll returns an HTTP client whose connections all go to endpoint,
// whatever host name a URL names.
func dialAll(endpoint string) *http.Client {
	addr := strings.TrimPrefix(endpoint, "http://")
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

// clientAt returns an SDK client for key at base (a URL whose host may be
// a namespace endpoint name), connecting to the gateway at endpoint.
func clientAt(c *harness.Cluster, endpoint, base string, k ctlKey, pathStyle bool) *s3.Client {
	return s3.New(s3.Options{
		Region: c.Region, BaseEndpoint: aws.String(base), UsePathStyle: pathStyle,
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.Secret, ""),
		Retryer:     aws.NopRetryer{}, HTTPClient: dialAll(endpoint),
	})
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %d", what, status)
		return
	}
	if code, got := apiCode(err); got != status {
		t.Errorf("%s: got %q (%d), want %d: %v", what, code, got, status, err)
	}
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want 403 AccessDenied", what)
		return
	}
	if code, status := apiCode(err); status != http.StatusForbidden || (code != "AccessDenied" && code != "Forbidden") {
		t.Errorf("%s: got %q (%d), want 403 AccessDenied: %v", what, code, status, err)
	}
}

func wantOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

const policyDomain = "cairn.test"

// TestPolicyTenantIsolation: namespaces A and B each have a bucket named
// "reports". A's key, with every right in A, can neither list, read,
// write nor delete anything of B's: path-style and virtual-hosted on B's
// namespace endpoint, and by presigned URL, every attempt is 403; on the
// plain endpoint its requests act in A, where B's objects do not exist.
// B's data is untouched afterwards.
func TestPolicyTenantIsolation(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraGW: []string{"--domain", policyDomain}})
	for _, ns := range []string{"iso-a", "iso-b"} {
		ctl(t, c, "namespace", "create", ns)
	}
	ctl(t, c, "user", "create", "-n", "iso-a", "alice")
	ctl(t, c, "user", "create", "-n", "iso-b", "bob")
	grantAll(t, c, "iso-a", "alice")
	grantAll(t, c, "iso-b", "bob")
	ka, kb := newKey(t, c, "iso-a", "alice"), newKey(t, c, "iso-b", "bob")
	a, b := s3Client(c, ka.AccessKeyID, ka.Secret), s3Client(c, kb.AccessKeyID, kb.Secret)
	mustCreateBucket(t, a, "reports")
	mustCreateBucket(t, b, "reports")
	mustPut(t, a, "reports", "a-only", []byte("from a"))
	secret := pattern(7, 100<<10)
	mustPut(t, b, "reports", "b-secret", secret)

	_, port, _ := net.SplitHostPort(strings.TrimPrefix(c.Endpoint, "http://"))
	hostOf := func(ns string) string { return ns + ".compat.objectstorage." + c.Region + "." + policyDomain }
	baseOf := func(ns string) string { return "http://" + hostOf(ns) + ":" + port }

	// Each namespace's own endpoint works for its own keys, both styles.
	for _, pathStyle := range []bool{true, false} {
		got, err := get(ctxT(t, time.Minute), clientAt(c, c.Endpoint, baseOf("iso-b"), kb, pathStyle), "reports", "b-secret", "")
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("bob on his own endpoint (path-style %v): %d bytes, %v", pathStyle, len(got), err)
		}
	}

	attempts := func(style string, cl *s3.Client) {
		ctx := ctxT(t, 2*time.Minute)
		_, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("reports")})
		wantDenied(t, style+" list", err)
		_, err = get(ctx, cl, "reports", "b-secret", "")
		wantDenied(t, style+" get", err)
		_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String("b-secret")})
		wantStatus(t, style+" head object", err, http.StatusForbidden)
		_, err = cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("reports")})
		wantStatus(t, style+" head bucket", err, http.StatusForbidden)
		wantDenied(t, style+" put", put(ctx, cl, "reports", "intruder", []byte("x")))
		wantDenied(t, style+" overwrite", put(ctx, cl, "reports", "b-secret", []byte("x")))
		_, err = cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("reports"), Key: aws.String("copy"), CopySource: aws.String("reports/b-secret")})
		wantDenied(t, style+" copy", err)
		_, err = cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("mp")})
		wantDenied(t, style+" create multipart upload", err)
		_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("reports"), Key: aws.String("b-secret")})
		wantDenied(t, style+" delete", err)
		_, err = cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("reports"),
			Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("b-secret")}}}})
		wantDenied(t, style+" delete objects", err)
		_, err = cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("reports"),
			Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
		wantDenied(t, style+" put bucket tagging", err)
		_, err = cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("reports")})
		wantDenied(t, style+" delete bucket", err)
		_, err = cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("planted")})
		wantDenied(t, style+" create bucket", err)
	}
	attempts("path-style on B's endpoint", clientAt(c, c.Endpoint, baseOf("iso-b"), ka, true))
	attempts("virtual-hosted on B's endpoint", clientAt(c, c.Endpoint, baseOf("iso-b"), ka, false))
	_, err := clientAt(c, c.Endpoint, baseOf("iso-b"), ka, true).ListBuckets(ctxT(t, time.Minute), &s3.ListBucketsInput{})
	wantDenied(t, "list buckets on B's endpoint", err)
	// Nor can the gateway's operator key, which acts in the gateway's own
	// namespace only.
	op := clientAt(c, c.Endpoint, baseOf("iso-b"), ctlKey{AccessKeyID: c.AccessKey, Secret: c.SecretKey}, true)
	_, err = get(ctxT(t, time.Minute), op, "reports", "b-secret", "")
	wantDenied(t, "operator key on B's endpoint", err)

	// Presigned URLs made with A's key, for B's endpoint in both styles.
	raw := dialAll(c.Endpoint)
	for _, pathStyle := range []bool{true, false} {
		ps := s3.NewPresignClient(clientAt(c, c.Endpoint, baseOf("iso-b"), ka, pathStyle))
		ctx := ctxT(t, time.Minute)
		var reqs []*v4.PresignedHTTPRequest
		add := func(r *v4.PresignedHTTPRequest, err error) {
			if err != nil {
				t.Fatalf("presign: %v", err)
			}
			reqs = append(reqs, r)
		}
		add(ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("b-secret")}))
		add(ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("b-secret")}))
		add(ps.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("reports"), Key: aws.String("b-secret")}))
		add(ps.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String("b-secret")}))
		for _, pr := range reqs {
			var payload io.Reader
			if pr.Method == http.MethodPut {
				payload = bytes.NewReader([]byte("overwritten"))
			}
			req, _ := http.NewRequest(pr.Method, pr.URL, payload)
			for k, vs := range pr.SignedHeader {
				if strings.EqualFold(k, "host") {
					continue
				}
				req.Header[k] = vs
			}
			resp, err := raw.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || (pr.Method != http.MethodHead && !strings.Contains(string(body), "<Code>AccessDenied</Code>")) {
				t.Errorf("presigned %s %s (path-style %v): %d %s", pr.Method, pr.URL, pathStyle, resp.StatusCode, body)
			}
		}
	}

	// On the plain endpoint A's key acts in A: B's object is not there.
	_, err = get(ctxT(t, time.Minute), a, "reports", "b-secret", "")
	wantAPIError(t, err, "NoSuchKey", 404)
	if got := listKeys(t, a, "reports"); !reflect.DeepEqual(got, []string{"a-only"}) {
		t.Fatalf("A sees %v in its reports", got)
	}

	// B's data is untouched.
	if got := listKeys(t, b, "reports"); !reflect.DeepEqual(got, []string{"b-secret"}) {
		t.Fatalf("B's reports now holds %v", got)
	}
	mustGetEqual(t, b, "reports", "b-secret", secret)
	tags, err := b.GetBucketTagging(ctxT(t, time.Minute), &s3.GetBucketTaggingInput{Bucket: aws.String("reports")})
	if err == nil && len(tags.TagSet) != 0 {
		t.Fatalf("B's bucket got tags %v", tags.TagSet)
	}
	out, err := b.ListBuckets(ctxT(t, time.Minute), &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "reports" {
		t.Fatalf("B's buckets: %+v %v", out, err)
	}
}

// TestPolicyMatrix: on two gateways, a read-only group can GET, HEAD and
// LIST but not PUT or DELETE; a bucket-scoped grant reaches only its
// bucket; a user with no policy can do nothing. Deleting a policy,
// removing a user from a group and deleting a key each take effect within
// 5 s on every gateway (the times are logged).
func TestPolicyMatrix(t *testing.T) {
	c := startCluster(t, harness.Options{})
	_, ep2 := c.StartGateway(t, "gateway-2")
	gateways := []string{c.Endpoint, ep2}
	const ns = "matrix"
	ctl(t, c, "namespace", "create", ns)
	for _, u := range []string{"writer", "member", "reader", "scoped", "nobody"} {
		ctl(t, c, "user", "create", "-n", ns, u)
	}
	for _, g := range []string{"writers", "readers", "scoped"} {
		ctl(t, c, "group", "create", "-n", ns, g)
	}
	ctl(t, c, "group", "add-user", "-n", ns, "writers", "writer")
	ctl(t, c, "group", "add-user", "-n", ns, "writers", "member")
	ctl(t, c, "group", "add-user", "-n", ns, "readers", "reader")
	ctl(t, c, "group", "add-user", "-n", ns, "scoped", "scoped")
	ctl(t, c, "policy", "create", "-n", ns, "writers-all", "--statement", "Allow group writers to manage all-resources in tenancy")
	ctl(t, c, "policy", "create", "-n", ns, "readers-ro", "--statement", "Allow group readers to read object-family in tenancy")
	ctl(t, c, "policy", "create", "-n", ns, "scoped-x", "--statement", "Allow group scoped to manage objects in tenancy where target.bucket.name = 'xray'")
	keys := map[string]ctlKey{}
	for _, u := range []string{"writer", "member", "reader", "scoped", "nobody"} {
		keys[u] = newKey(t, c, ns, u)
	}
	at := func(gw, user string) *s3.Client { return clientAt(c, gw, gw, keys[user], true) }

	w := at(c.Endpoint, "writer")
	mustCreateBucket(t, w, "xray")
	mustCreateBucket(t, w, "yard")
	mustPut(t, w, "xray", "a", []byte("in xray"))
	mustPut(t, w, "yard", "a", []byte("in yard"))

	for i, gw := range gateways {
		ctx := ctxT(t, 2*time.Minute)
		name := "gateway-" + string(rune('1'+i)) + ": "
		r := at(gw, "reader")
		got, err := get(ctx, r, "xray", "a", "")
		if err != nil || string(got) != "in xray" {
			t.Errorf("%sreader get: %q %v", name, got, err)
		}
		_, err = r.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("yard"), Key: aws.String("a")})
		wantOK(t, name+"reader head", err)
		_, err = r.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("xray")})
		wantOK(t, name+"reader list objects", err)
		lb, err := r.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil || len(lb.Buckets) != 2 {
			t.Errorf("%sreader list buckets: %+v %v", name, lb, err)
		}
		wantDenied(t, name+"reader put", put(ctx, r, "xray", "new", []byte("no")))
		wantDenied(t, name+"reader overwrite", put(ctx, r, "xray", "a", []byte("no")))
		_, err = r.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("xray"), Key: aws.String("a")})
		wantDenied(t, name+"reader delete", err)
		_, err = r.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("z")})
		wantDenied(t, name+"reader create bucket", err)
		_, err = r.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("yard")})
		wantDenied(t, name+"reader delete bucket", err)

		s := at(gw, "scoped")
		wantOK(t, name+"scoped put in xray", put(ctx, s, "xray", "s", []byte("scoped")))
		got, err = get(ctx, s, "xray", "s", "")
		if err != nil || string(got) != "scoped" {
			t.Errorf("%sscoped get in x: %q %v", name, got, err)
		}
		_, err = s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("xray"), Key: aws.String("s")})
		wantOK(t, name+"scoped delete in x", err)
		wantDenied(t, name+"scoped put in y", put(ctx, s, "yard", "s", []byte("no")))
		_, err = get(ctx, s, "yard", "a", "")
		wantDenied(t, name+"scoped get in y", err)
		_, err = s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("yard")})
		wantDenied(t, name+"scoped list y", err)
		_, err = s.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantDenied(t, name+"scoped list buckets", err)

		n := at(gw, "nobody")
		_, err = n.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantDenied(t, name+"nobody list buckets", err)
		_, err = get(ctx, n, "xray", "a", "")
		wantDenied(t, name+"nobody get", err)
		wantDenied(t, name+"nobody put", put(ctx, n, "xray", "n", []byte("no")))
	}
	if t.Failed() {
		t.FailNow()
	}

	// revoke runs change and waits until probe is refused (with wantCode)
	// on every gateway, each of whose caches was warm when change ran.
	revoke := func(what, user, wantCode string, probe func(*s3.Client) error, change func()) {
		t.Helper()
		for _, gw := range gateways {
			if err := probe(at(gw, user)); err != nil {
				t.Fatalf("%s: before the change: %v", what, err)
			}
		}
		start := time.Now()
		change()
		committed := time.Since(start)
		var wg sync.WaitGroup
		took := make([]time.Duration, len(gateways))
		for i, gw := range gateways {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := at(gw, user)
				for {
					err := probe(cl)
					if code, status := apiCode(err); status == http.StatusForbidden && code == wantCode {
						took[i] = time.Since(start)
						return
					}
					if time.Since(start) > 10*time.Second {
						took[i] = -1
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		t.Logf("%s: cairnctl returned after %s; refused on gateway-1 after %s, gateway-2 after %s",
			what, committed.Round(time.Millisecond), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond))
		for i, d := range took {
			if d < 0 || d >= 5*time.Second {
				t.Errorf("%s: gateway-%d still accepted the request %s after the change", what, i+1, d)
			}
		}
	}
	getXA := func(cl *s3.Client) error { _, err := get(ctxT(t, time.Minute), cl, "xray", "a", ""); return err }
	revoke("delete policy readers-ro", "reader", "AccessDenied", getXA, func() {
		ctl(t, c, "policy", "delete", "-n", ns, "readers-ro")
	})
	revoke("remove member from writers", "member", "AccessDenied", func(cl *s3.Client) error {
		return put(ctxT(t, time.Minute), cl, "yard", "member", []byte("member"))
	}, func() {
		ctl(t, c, "group", "remove-user", "-n", ns, "writers", "member")
	})
	revoke("delete scoped's key", "scoped", "InvalidAccessKeyId", getXA, func() {
		ctl(t, c, "key", "delete", keys["scoped"].AccessKeyID)
	})
	// The writer, untouched, still can.
	for _, gw := range gateways {
		mustGetEqual(t, at(gw, "writer"), "yard", "member", []byte("member"))
	}
}

// TestPolicyCtl: cairnctl end to end (namespace, user, group, compartments,
// S3 compartment, policy from a file, key), the key used with the AWS SDK;
// malformed policies and unknown names are refused with clear errors; the
// SigV4 region rule (this region, us-east-1 or empty; nothing else).
func TestPolicyCtl(t *testing.T) {
	c := startCluster(t, harness.Options{Region: "eu-frankfurt-1"})
	const ns = "acme"
	ctl(t, c, "namespace", "create", ns)
	ctl(t, c, "user", "create", "-n", ns, "dev")
	ctl(t, c, "user", "create", "-n", ns, "ops")
	ctl(t, c, "group", "create", "-n", ns, "devs")
	ctl(t, c, "group", "add-user", "-n", ns, "devs", "dev")
	ctl(t, c, "compartment", "create", "-n", ns, "projects")
	ctl(t, c, "compartment", "create", "-n", ns, "web", "--parent", "projects")
	ctl(t, c, "compartment", "create", "-n", ns, "finance")
	ctl(t, c, "compartment", "set-s3-default", "-n", ns, "web")

	var comps []struct {
		Name      string `json:"name"`
		Parent    string `json:"parent"`
		S3Default bool   `json:"s3_default"`
	}
	if err := json.Unmarshal(ctl(t, c, "compartment", "list", "-n", ns, "-o", "json"), &comps); err != nil || len(comps) != 4 || comps[0].Name != "root" {
		t.Fatalf("compartment list: %+v %v", comps, err)
	}
	for _, cm := range comps {
		if (cm.Name == "web") != cm.S3Default || (cm.Name == "web" && cm.Parent != "projects") {
			t.Fatalf("compartment list: %+v", comps)
		}
	}
	if table := string(ctl(t, c, "compartment", "list", "-n", ns)); !strings.Contains(table, "COMPARTMENT") || !strings.Contains(table, "web") {
		t.Fatalf("compartment table:\n%s", table)
	}

	file := filepath.Join(t.TempDir(), "devs.policy")
	doc := "# what developers may do\nAllow group devs to manage all-resources in compartment projects\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl(t, c, "policy", "create", "-n", ns, "devs-projects", "--file", file)

	// Bad input: the position of a syntax error; unknown names.
	msg := ctlFails(t, c, "policy", "create", "-n", ns, "bad", "--statement", "Allow group devs to reed objects in tenancy")
	if !strings.Contains(msg, "line 1, column 21") || !strings.Contains(msg, "verb") {
		t.Fatalf("syntax error: %s", msg)
	}
	msg = ctlFails(t, c, "policy", "create", "-n", ns, "bad", "--statement", "Allow group devs to read objects in tenancy",
		"--statement", "Allow group devs to read objects in compartment")
	if !strings.Contains(msg, "line 2, column 48") {
		t.Fatalf("syntax error in the second statement: %s", msg)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "create", "-n", ns, "bad", "--statement", "Allow group ghosts to read objects in tenancy"}, "group not found"},
		{[]string{"policy", "create", "-n", ns, "bad", "--statement", "Allow group devs to read objects in compartment nowhere"}, "compartment not found"},
		{[]string{"policy", "create", "-n", ns, "bad"}, "--statement"},
		{[]string{"policy", "create", "-n", "no-such-ns", "bad", "--statement", "Allow group devs to read objects in tenancy"}, "namespace not found"},
		{[]string{"policy", "create", "-n", ns, "devs-projects", "--statement", "Allow group devs to read objects in tenancy"}, "policy already exists"},
		{[]string{"policy", "delete", "-n", ns, "nope"}, "policy not found"},
		{[]string{"compartment", "create", "-n", ns, "x", "--parent", "nowhere"}, "compartment not found"},
		{[]string{"compartment", "create", "-n", ns, "web"}, "compartment already exists"},
		{[]string{"compartment", "set-s3-default", "-n", ns, "nowhere"}, "compartment not found"},
		{[]string{"group", "add-user", "-n", ns, "devs", "stranger"}, "user not found"},
		{[]string{"group", "add-user", "-n", ns, "ghosts", "dev"}, "group not found"},
		{[]string{"group", "create", "-n", ns, "devs"}, "group already exists"},
		{[]string{"group", "list", "-n", ns, "-o", "yaml"}, "want table or json"},
	} {
		if msg := ctlFails(t, c, bad.args...); !strings.Contains(msg, bad.want) {
			t.Errorf("cairnctl %v: want %q in\n%s", bad.args, bad.want, msg)
		}
	}

	var pols []struct {
		Name       string   `json:"name"`
		Statements []string `json:"statements"`
	}
	if err := json.Unmarshal(ctl(t, c, "policy", "list", "-n", ns, "-o", "json"), &pols); err != nil || len(pols) != 1 ||
		!reflect.DeepEqual(pols[0].Statements, []string{"Allow group devs to manage all-resources in compartment projects"}) {
		t.Fatalf("policy list (refused policies must not exist): %+v %v", pols, err)
	}
	var groups []struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := json.Unmarshal(ctl(t, c, "group", "list", "-n", ns, "-o", "json"), &groups); err != nil || len(groups) != 1 || !reflect.DeepEqual(groups[0].Members, []string{"dev"}) {
		t.Fatalf("group list: %+v %v", groups, err)
	}
	if table := string(ctl(t, c, "group", "list", "-n", ns)); !strings.Contains(table, "MEMBERS") || !strings.Contains(table, "dev") {
		t.Fatalf("group table:\n%s", table)
	}

	// The key, with the AWS SDK: the bucket goes to the S3 compartment
	// (web, under projects), where the policy lets dev do everything.
	k := newKey(t, c, ns, "dev")
	dev := s3Client(c, k.AccessKeyID, k.Secret)
	mustCreateBucket(t, dev, "site")
	body := pattern(3, 300<<10)
	mustPut(t, dev, "site", "index.html", body)
	mustGetEqual(t, dev, "site", "index.html", body)
	if got := listKeys(t, dev, "site"); !reflect.DeepEqual(got, []string{"index.html"}) {
		t.Fatalf("list: %v", got)
	}
	// With the S3 compartment moved outside projects, dev can no longer
	// create buckets; the existing bucket stays in web and still works.
	ctl(t, c, "compartment", "set-s3-default", "-n", ns, "finance")
	time.Sleep(2500 * time.Millisecond) // gateways cache a key's rights for 2 s
	_, err := dev.CreateBucket(ctxT(t, time.Minute), &s3.CreateBucketInput{Bucket: aws.String("ledger")})
	wantDenied(t, "create bucket with the S3 compartment outside the grant", err)
	mustGetEqual(t, dev, "site", "index.html", body)

	// A user with a key but no policy can do nothing.
	ko := newKey(t, c, ns, "ops")
	_, err = s3Client(c, ko.AccessKeyID, ko.Secret).ListBuckets(ctxT(t, time.Minute), &s3.ListBucketsInput{})
	wantDenied(t, "user without policy lists buckets", err)
	_, err = get(ctxT(t, time.Minute), s3Client(c, ko.AccessKeyID, ko.Secret), "site", "index.html", "")
	wantDenied(t, "user without policy reads", err)

	t.Run("SigV4Region", func(t *testing.T) { testSigV4Region(t, c, k) })
}

// testSigV4Region: a credential scope naming the cluster's region,
// us-east-1 or nothing is accepted (OCI's rule for clients that cannot
// name the region); any other region is refused with S3's 400
// AuthorizationHeaderMalformed.
func testSigV4Region(t *testing.T, c *harness.Cluster, k ctlKey) {
	empty := sha256.Sum256(nil)
	hash := hex.EncodeToString(empty[:])
	do := func(region string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, c.Endpoint+"/site?list-type=2", nil)
		req.Header.Set("x-amz-content-sha256", hash)
		creds := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.Secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, region := range []string{c.Region, "us-east-1", ""} {
		if status, body := do(region); status != http.StatusOK || !strings.Contains(body, "<Key>index.html</Key>") {
			t.Errorf("region %q: %d %s", region, status, body)
		}
	}
	status, body := do("ap-tokyo-1")
	if status != http.StatusBadRequest || !strings.Contains(body, "<Code>AuthorizationHeaderMalformed</Code>") {
		t.Errorf("region ap-tokyo-1: %d %s", status, body)
	}
}
