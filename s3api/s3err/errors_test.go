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
