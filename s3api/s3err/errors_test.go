package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteProducesS3XML(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/bkt/some/key", nil)
	w := httptest.NewRecorder()
	Write(w, r, &Error{Code: NoSuchKey, Bucket: "bkt", Key: "some/key"}, "REQ1", "HOST1")
	if w.Code != 404 {
		t.Fatalf("status %d", w.Code)
	}
	if w.Header().Get("x-amz-request-id") != "REQ1" {
		t.Fatal("missing request id header")
	}
	var b body
	if err := xml.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.Code != "NoSuchKey" || b.Key != "some/key" || b.BucketName != "bkt" || b.RequestID != "REQ1" || b.Resource != "/bkt/some/key" {
		t.Fatalf("unexpected body %+v", b)
	}
}

func TestHeadHasNoBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodHead, "/bkt/k", nil)
	w := httptest.NewRecorder()
	Write(w, r, New(NoSuchBucket, ""), "R", "H")
	if w.Code != 404 || w.Body.Len() != 0 {
		t.Fatalf("status %d body %q", w.Code, w.Body.String())
	}
}

func TestAsFindsWrapped(t *testing.T) {
	cause := errors.New("disk on fire")
	err := fmt.Errorf("ctx: %w", Wrap(InternalError, cause))
	e, ok := As(err)
	if !ok || e.Code != InternalError || !errors.Is(err, cause) {
		t.Fatalf("As failed: %v %v", e, ok)
	}
}

func TestErrorDropsObjectHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/bkt/k", nil)
	w := httptest.NewRecorder()
	h := w.Header()
	h.Set("Server", "Cairn")
	h.Set("Connection", "close")
	h.Set("ETag", `"abc"`)
	h.Set("Content-Length", "1048576")
	h.Set("X-Amz-Checksum-Crc32c", "AAAAAA==")
	h["X-Amz-Meta-color"] = []string{"blue"} // as GET sets user metadata
	Write(w, r, &Error{Code: InvalidRange, Header: http.Header{"Content-Range": {"bytes */10"}}}, "REQ", "HOST")
	got := w.Result().Header
	for _, name := range []string{"ETag", "X-Amz-Checksum-Crc32c", "X-Amz-Meta-color", "X-Amz-Meta-Color"} {
		if v := got.Values(name); len(v) > 0 {
			t.Errorf("error response kept %s: %q", name, v)
		}
	}
	if got.Get("Content-Length") == "1048576" {
		t.Error("error response kept the object's Content-Length")
	}
	for name, want := range map[string]string{"Server": "Cairn", "Connection": "close", "X-Amz-Request-Id": "REQ", "Content-Range": "bytes */10", "Content-Type": "application/xml"} {
		if v := got.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
}

func TestOnlySlowDownAsksToSlowDown(t *testing.T) {
	codes := []Code{ServiceUnavailable, ObjectUnavailable, ObjectUnreadable, InternalError}
	for _, c := range codes {
		if c.Name == "SlowDown" || c.Message == SlowDown.Message {
			t.Errorf("%s (%q) reads like load shedding", c.Name, c.Message)
		}
	}
	if ServiceUnavailable.Message != "Service is unable to handle request." {
		t.Errorf("ServiceUnavailable says %q", ServiceUnavailable.Message)
	}
}
