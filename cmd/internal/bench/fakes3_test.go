package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeS3 is a minimal path-style S3 server for tests: buckets and objects
// live in maps, and a few knobs inject faults.
type fakeS3 struct {
	t *testing.T

	// Knobs; set before the run starts.
	failGetEvery int           // every Nth GetObject answers 500
	delay        time.Duration // added to every object request
	truncate     bool          // GetObject drops the last byte
	corrupt      bool          // GetObject flips the first byte
	// discard keeps only object sizes; GET then serves synth(key, size).
	discard bool
	synth   func(key string, size int64) io.Reader

	mu       sync.Mutex
	buckets  map[string]bool
	objects  map[string][]byte // bucket/key -> body
	sizes    map[string]int64  // bucket/key -> size
	gets     int
	calls    map[string]int // "METHOD bucket|object" -> count
	badHash  int            // PUTs whose x-amz-content-sha256 did not match
	unsigned int            // PUTs sent with UNSIGNED-PAYLOAD
	checksum int            // PUTs carrying an x-amz-checksum-* header
}

func newFakeS3(t *testing.T) (*fakeS3, *httptest.Server) {
	f := &fakeS3{
		t:       t,
		buckets: map[string]bool{},
		objects: map[string][]byte{},
		sizes:   map[string]int64{},
		calls:   map[string]int{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeS3) s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, code)
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		f.s3Error(w, http.StatusForbidden, "AccessDenied")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	what := "bucket"
	if key != "" {
		what = "object"
	}
	f.mu.Lock()
	f.calls[r.Method+" "+what]++
	hasBucket := f.buckets[bucket]
	f.mu.Unlock()

	if key == "" {
		switch r.Method {
		case http.MethodHead:
			if !hasBucket {
				w.WriteHeader(http.StatusNotFound)
				return
			}
		case http.MethodPut:
			f.mu.Lock()
			f.buckets[bucket] = true
			f.mu.Unlock()
		case http.MethodDelete:
			f.mu.Lock()
			delete(f.buckets, bucket)
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			f.s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		}
		return
	}

	if !hasBucket {
		f.s3Error(w, http.StatusNotFound, "NoSuchBucket")
		return
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	name := bucket + "/" + key
	switch r.Method {
	case http.MethodPut:
		f.put(w, r, name)
	case http.MethodGet, http.MethodHead:
		f.get(w, r, name, key)
	case http.MethodDelete:
		f.mu.Lock()
		delete(f.objects, name)
		delete(f.sizes, name)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		f.s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
	}
}

func (f *fakeS3) put(w http.ResponseWriter, r *http.Request, name string) {
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	hasChecksum := false
	for h := range r.Header {
		if strings.HasPrefix(strings.ToLower(h), "x-amz-checksum-") {
			hasChecksum = true
		}
	}
	var sum hash.Hash = sha256.New()
	var body bytes.Buffer
	dst := io.Writer(sum)
	if !f.discard {
		dst = io.MultiWriter(sum, &body)
	}
	n, err := io.Copy(dst, r.Body)
	if err != nil {
		f.s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return
	}
	if r.ContentLength >= 0 && n != r.ContentLength {
		f.s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if hasChecksum {
		f.checksum++
	}
	switch claimed {
	case "UNSIGNED-PAYLOAD":
		f.unsigned++
	default:
		if hex.EncodeToString(sum.Sum(nil)) != claimed {
			f.badHash++
			f.s3Error(w, http.StatusBadRequest, "XAmzContentSHA256Mismatch")
			return
		}
	}
	f.sizes[name] = n
	if !f.discard {
		f.objects[name] = body.Bytes()
	}
	w.Header().Set("ETag", `"fake"`)
}

func (f *fakeS3) get(w http.ResponseWriter, r *http.Request, name, key string) {
	f.mu.Lock()
	size, ok := f.sizes[name]
	data := f.objects[name]
	fail := false
	if r.Method == http.MethodGet {
		f.gets++
		fail = f.failGetEvery > 0 && f.gets%f.failGetEvery == 0
	}
	f.mu.Unlock()
	if fail {
		f.s3Error(w, http.StatusInternalServerError, "InternalError")
		return
	}
	if !ok {
		f.s3Error(w, http.StatusNotFound, "NoSuchKey")
		return
	}
	var body io.Reader = bytes.NewReader(data)
	if f.discard {
		body = f.synth(key, size)
	}
	if f.corrupt && size > 0 {
		first := make([]byte, 1)
		if _, err := io.ReadFull(body, first); err != nil {
			f.t.Errorf("fake s3: reading first byte: %v", err)
			return
		}
		first[0] ^= 0xff
		body = io.MultiReader(bytes.NewReader(first), body)
	}
	if f.truncate && size > 0 {
		size--
		body = io.LimitReader(body, size)
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("ETag", `"fake"`)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, body)
}

// objectCount returns how many objects are stored in bucket under prefix.
func (f *fakeS3) objectCount(bucket, prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for name := range f.sizes {
		if strings.HasPrefix(name, bucket+"/"+prefix) {
			n++
		}
	}
	return n
}

func (f *fakeS3) callCount(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[what]
}

// counters returns the PUT signing/checksum counters.
func (f *fakeS3) counters() (badHash, unsigned, checksum int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.badHash, f.unsigned, f.checksum
}
