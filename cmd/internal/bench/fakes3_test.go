package bench

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
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

	// Multipart uploads in progress, by upload ID, and the last ID issued.
	uploads  map[string]*fakeUpload
	uploadID int
	// ssecKeys maps bucket/key to the SSE-C key MD5 the object was written
	// with ("" for none); reads must present the same key.
	ssecKeys map[string]string
	// ssec counts requests that carried a valid SSE-C key, by request kind
	// ("put", "get", "head", "create", "part", "complete").
	ssec map[string]int
}

// fakeUpload is one multipart upload in progress.
type fakeUpload struct {
	name   string
	keyMD5 string
	parts  map[int][]byte // part number -> body (nil with discard)
	sizes  map[int]int64
}

func newFakeS3(t *testing.T) (*fakeS3, *httptest.Server) {
	f := &fakeS3{
		t:        t,
		buckets:  map[string]bool{},
		objects:  map[string][]byte{},
		sizes:    map[string]int64{},
		calls:    map[string]int{},
		uploads:  map[string]*fakeUpload{},
		ssecKeys: map[string]string{},
		ssec:     map[string]int{},
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
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		f.createUpload(w, r, name, bucket, key)
	case r.Method == http.MethodPut && q.Has("uploadId"):
		f.uploadPart(w, r, q.Get("uploadId"), q.Get("partNumber"))
	case r.Method == http.MethodPost && q.Has("uploadId"):
		f.completeUpload(w, r, q.Get("uploadId"), bucket, key)
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		f.mu.Lock()
		delete(f.uploads, q.Get("uploadId"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPut:
		f.put(w, r, name)
	case r.Method == http.MethodGet, r.Method == http.MethodHead:
		f.get(w, r, name, key)
	case r.Method == http.MethodDelete:
		f.mu.Lock()
		delete(f.objects, name)
		delete(f.sizes, name)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		f.s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
	}
}

// sseKey validates the SSE-C headers of r the way S3 does and returns the
// key MD5, "" if r carries none. ok is false (and the error has been sent)
// if the headers are present but malformed; a valid key is counted under
// kind.
func (f *fakeS3) sseKey(w http.ResponseWriter, r *http.Request, kind string) (keyMD5 string, ok bool) {
	alg := r.Header.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm")
	key := r.Header.Get("X-Amz-Server-Side-Encryption-Customer-Key")
	sum := r.Header.Get("X-Amz-Server-Side-Encryption-Customer-Key-Md5")
	if alg == "" && key == "" && sum == "" {
		return "", true
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	want := md5.Sum(raw)
	if alg != "AES256" || err != nil || len(raw) != 32 || sum != base64.StdEncoding.EncodeToString(want[:]) {
		f.s3Error(w, http.StatusBadRequest, "InvalidArgument")
		return "", false
	}
	f.mu.Lock()
	f.ssec[kind]++
	f.mu.Unlock()
	return sum, true
}

// readBody reads a PUT body, checks its length and x-amz-content-sha256 and
// counts its signing and checksum headers. It returns the body (nil with
// discard) and its size; ok is false if an error has been sent.
func (f *fakeS3) readBody(w http.ResponseWriter, r *http.Request) (body []byte, n int64, ok bool) {
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	hasChecksum := false
	for h := range r.Header {
		if strings.HasPrefix(strings.ToLower(h), "x-amz-checksum-") {
			hasChecksum = true
		}
	}
	var sum hash.Hash = sha256.New()
	var buf bytes.Buffer
	dst := io.Writer(sum)
	if !f.discard {
		dst = io.MultiWriter(sum, &buf)
	}
	n, err := io.Copy(dst, r.Body)
	if err != nil {
		f.s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return nil, 0, false
	}
	if r.ContentLength >= 0 && n != r.ContentLength {
		f.s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return nil, 0, false
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
			return nil, 0, false
		}
	}
	if f.discard {
		return nil, n, true
	}
	return buf.Bytes(), n, true
}

func (f *fakeS3) put(w http.ResponseWriter, r *http.Request, name string) {
	keyMD5, ok := f.sseKey(w, r, "put")
	if !ok {
		return
	}
	body, n, ok := f.readBody(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sizes[name] = n
	f.ssecKeys[name] = keyMD5
	if !f.discard {
		f.objects[name] = body
	}
	w.Header().Set("ETag", `"fake"`)
}

func (f *fakeS3) createUpload(w http.ResponseWriter, r *http.Request, name, bucket, key string) {
	keyMD5, ok := f.sseKey(w, r, "create")
	if !ok {
		return
	}
	f.mu.Lock()
	f.uploadID++
	id := strconv.Itoa(f.uploadID)
	f.uploads[id] = &fakeUpload{name: name, keyMD5: keyMD5, parts: map[int][]byte{}, sizes: map[int]int64{}}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, "<InitiateMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>", bucket, key, id)
}

// upload returns the upload with the given ID if it exists and keyMD5 is
// the key it was created with; otherwise it sends an error.
func (f *fakeS3) upload(w http.ResponseWriter, id, keyMD5 string) *fakeUpload {
	f.mu.Lock()
	up := f.uploads[id]
	f.mu.Unlock()
	switch {
	case up == nil:
		f.s3Error(w, http.StatusNotFound, "NoSuchUpload")
	case up.keyMD5 != keyMD5:
		f.s3Error(w, http.StatusBadRequest, "InvalidRequest")
	default:
		return up
	}
	return nil
}

func (f *fakeS3) uploadPart(w http.ResponseWriter, r *http.Request, id, number string) {
	num, err := strconv.Atoi(number)
	if err != nil || num < 1 || num > 10000 {
		f.s3Error(w, http.StatusBadRequest, "InvalidArgument")
		return
	}
	keyMD5, ok := f.sseKey(w, r, "part")
	if !ok {
		return
	}
	up := f.upload(w, id, keyMD5)
	if up == nil {
		return
	}
	body, n, ok := f.readBody(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	up.parts[num], up.sizes[num] = body, n
	f.mu.Unlock()
	w.Header().Set("ETag", fmt.Sprintf(`"part-%d"`, num))
}

func (f *fakeS3) completeUpload(w http.ResponseWriter, r *http.Request, id, bucket, key string) {
	keyMD5, ok := f.sseKey(w, r, "complete")
	if !ok {
		return
	}
	// S3 accepts a complete without the SSE-C key; only a wrong one fails.
	var up *fakeUpload
	if keyMD5 == "" {
		f.mu.Lock()
		up = f.uploads[id]
		f.mu.Unlock()
		if up == nil {
			f.s3Error(w, http.StatusNotFound, "NoSuchUpload")
			return
		}
	} else if up = f.upload(w, id, keyMD5); up == nil {
		return
	}
	var req struct {
		Parts []struct {
			PartNumber int
			ETag       string
		} `xml:"Part"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Parts) == 0 {
		f.s3Error(w, http.StatusBadRequest, "MalformedXML")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var body []byte
	var size int64
	for i, p := range req.Parts {
		n, have := up.sizes[p.PartNumber]
		if !have || p.ETag != fmt.Sprintf(`"part-%d"`, p.PartNumber) || (i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber) {
			f.s3Error(w, http.StatusBadRequest, "InvalidPart")
			return
		}
		if i < len(req.Parts)-1 && n < MinPartSize {
			f.s3Error(w, http.StatusBadRequest, "EntityTooSmall")
			return
		}
		body = append(body, up.parts[p.PartNumber]...)
		size += n
	}
	delete(f.uploads, id)
	f.sizes[up.name] = size
	f.ssecKeys[up.name] = up.keyMD5
	if !f.discard {
		f.objects[up.name] = body
	}
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, "<CompleteMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key><ETag>\"fake-%d\"</ETag></CompleteMultipartUploadResult>", bucket, key, len(req.Parts))
}

func (f *fakeS3) get(w http.ResponseWriter, r *http.Request, name, key string) {
	keyMD5, valid := f.sseKey(w, r, strings.ToLower(r.Method))
	if !valid {
		return
	}
	f.mu.Lock()
	size, ok := f.sizes[name]
	data := f.objects[name]
	wantMD5 := f.ssecKeys[name]
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
	if keyMD5 != wantMD5 {
		f.s3Error(w, http.StatusBadRequest, "InvalidRequest")
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

// ssecCount returns how many requests of a kind carried a valid SSE-C key.
func (f *fakeS3) ssecCount(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ssec[kind]
}

// pendingUploads returns how many multipart uploads were neither completed
// nor aborted.
func (f *fakeS3) pendingUploads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.uploads)
}

// counters returns the PUT signing/checksum counters.
func (f *fakeS3) counters() (badHash, unsigned, checksum int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.badHash, f.unsigned, f.checksum
}
