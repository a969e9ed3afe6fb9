package bench

import (
	"crypto/md5"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// mpObjectSize makes three parts of MinPartSize: two full, one short.
const mpObjectSize = 2*MinPartSize + 1000

func TestRunMultipart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		checksums bool
	}{
		{"plain", false},
		{"checksums", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFakeS3(t)
			cfg := testConfig(srv.URL)
			cfg.Op = OpGet // populate through the manager, then read back
			cfg.Verify = true
			cfg.Multipart = true
			cfg.PartSize = MinPartSize
			cfg.PartConcurrency = 2
			cfg.Checksums = tc.checksums
			cfg.ObjectSize = mpObjectSize
			cfg.Concurrency = 2
			cfg.Keys = 2
			cfg.Count = 4
			r := mustRun(t, cfg)[0]
			checkResult(t, r, OpGet, cfg)
			if r.Ops != 4 || r.Errors != 0 {
				t.Fatalf("ops=%d errors=%d (%s)", r.Ops, r.Errors, r.FirstError)
			}
			// Two objects: one create and one complete each, three parts
			// each, no single PUT and nothing left pending.
			if got := fake.callCount("POST object"); got != 4 {
				t.Errorf("%d POSTs (create+complete), want 4", got)
			}
			if got := fake.callCount("PUT object"); got != 6 {
				t.Errorf("%d part PUTs, want 6", got)
			}
			if n := fake.pendingUploads(); n != 0 {
				t.Errorf("%d multipart uploads left pending", n)
			}
			bad, _, checksum := fake.counters()
			want := 0
			if tc.checksums {
				want = 6
			}
			if bad != 0 || checksum != want {
				t.Errorf("parts with checksum=%d badHash=%d, want %d 0", checksum, bad, want)
			}
			if got := fake.ssecCount("part"); got != 0 {
				t.Errorf("%d parts carried SSE-C without SSEC", got)
			}
		})
	}
}

func TestRunMultipartSmallObjectIsSinglePut(t *testing.T) {
	fake, srv := newFakeS3(t)
	cfg := testConfig(srv.URL)
	cfg.Multipart = true
	cfg.Count = 5
	r := mustRun(t, cfg)[0]
	checkResult(t, r, OpPut, cfg)
	if r.Ops != 5 || !r.Multipart || r.PartSize != DefaultPartSize || r.PartConcurrency != DefaultPartConcurrency {
		t.Fatalf("ops=%d multipart=%v part=%d x%d (%s)", r.Ops, r.Multipart, r.PartSize, r.PartConcurrency, r.FirstError)
	}
	if fake.callCount("POST object") != 0 || fake.callCount("PUT object") != 5 {
		t.Errorf("POST=%d PUT=%d, want 0 and 5", fake.callCount("POST object"), fake.callCount("PUT object"))
	}
}

func TestRunSSEC(t *testing.T) {
	for _, tc := range []struct {
		name      string
		multipart bool
	}{
		{"single", false},
		{"multipart", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFakeS3(t)
			cfg := testConfig(srv.URL)
			cfg.Op = OpMixed
			cfg.GetRatio = 0.5
			cfg.Verify = true
			cfg.SSEC = true
			cfg.Multipart = tc.multipart
			cfg.PartSize = MinPartSize
			cfg.Keys = 3
			cfg.Count = 12
			if tc.multipart {
				cfg.ObjectSize = mpObjectSize
				cfg.Concurrency = 2
			}
			res := mustRun(t, cfg)
			get, put := res[0], res[1]
			if !get.SSEC || !put.SSEC || put.Multipart != tc.multipart || get.Multipart {
				t.Errorf("results echo sse-c=%v/%v multipart=%v/%v", get.SSEC, put.SSEC, get.Multipart, put.Multipart)
			}
			// The fake rejects a GET whose key differs from the PUT's.
			if get.Errors+put.Errors != 0 || get.Ops+put.Ops != 12 {
				t.Fatalf("get ops=%d errors=%d (%s), put ops=%d errors=%d (%s)",
					get.Ops, get.Errors, get.FirstError, put.Ops, put.Errors, put.FirstError)
			}
			puts := 3 + int(put.Ops)
			if got := fake.ssecCount("get"); got != int(get.Ops) {
				t.Errorf("%d GETs with SSE-C, want %d", got, get.Ops)
			}
			if tc.multipart {
				for kind, want := range map[string]int{"create": puts, "part": 3 * puts, "complete": puts, "put": 0} {
					if got := fake.ssecCount(kind); got != want {
						t.Errorf("%d %s requests with SSE-C, want %d", got, kind, want)
					}
				}
			} else if got := fake.ssecCount("put"); got != puts {
				t.Errorf("%d PUTs with SSE-C, want %d", got, puts)
			}
			if !strings.Contains(put.String(), "sse-c=on") {
				t.Errorf("String() = %q, want sse-c=on", put.String())
			}
		})
	}
}

func TestSSECustomerKey(t *testing.T) {
	a, err := newSSECustomerKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSSECustomerKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(*a.key)
	sum := md5.Sum(raw)
	if err != nil || len(raw) != 32 || *a.algorithm != "AES256" || *a.keyMD5 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("key %q md5 %q alg %q is not a valid SSE-C key", *a.key, *a.keyMD5, *a.algorithm)
	}
	if *a.key == *b.key {
		t.Error("two runs got the same SSE-C key")
	}
	var none *sseCustomerKey
	in := &s3.PutObjectInput{}
	none.applyPut(in)
	if in.SSECustomerKey != nil {
		t.Error("nil key set SSE-C headers")
	}
}
