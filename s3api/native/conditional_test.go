package native

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// condIndex is the little of Index the conditional reads, conditional
// deletes and SSE-C parts use: one object, one upload; the rest panics.
type condIndex struct {
	Index
	obj     *cairnpb.ObjectVersion
	upload  *cairnpb.MultipartUpload
	deleted []*cairnpb.WriteCondition
}

func (f *condIndex) GetObject(context.Context, string, string, string) (*cairnpb.ObjectVersion, error) {
	if f.obj == nil {
		return nil, rpcerr.ErrObjectNotFound
	}
	return f.obj, nil
}

// DeleteVersion judges cond as meta does, in the same step as the delete.
func (f *condIndex) DeleteVersion(_ context.Context, _, _, _, _ string, cond *cairnpb.WriteCondition, _ bool) (*cairnpb.DeleteVersionResponse, error) {
	f.deleted = append(f.deleted, cond)
	switch cond.Against(f.obj) {
	case cairnpb.ConditionFails:
		return nil, rpcerr.ErrPreconditionFailed
	case cairnpb.ConditionNoObject:
		return nil, rpcerr.ErrObjectNotFound
	}
	f.obj = nil
	return &cairnpb.DeleteVersionResponse{}, nil
}

func (f *condIndex) GetMultipartUpload(context.Context, string, string, string, string) (*cairnpb.MultipartUpload, error) {
	if f.upload == nil {
		return nil, rpcerr.ErrUploadNotFound
	}
	return f.upload, nil
}

// serveOp runs one handler of the op table for a request with headers h.
func serveOp(t *testing.T, s *Server, o op, method string, h http.Header) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest(method, "/n/ns/b/bk/o/x?uploadId=U&uploadPartNum=1", nil)
	for k, v := range h {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	req := &request{op: o, ns: "ns", bucket: "bk", object: "x", uploadID: "U", query: r.URL.Query()}
	return w, s.ops[o].handler(s, context.Background(), w, r, req)
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestReadConditions(t *testing.T) {
	const etag = "9a0364b9e99bb480dd25e1f0284c8555"
	idx := &condIndex{obj: &cairnpb.ObjectVersion{Key: "x", Etag: etag, Size: 0}}
	s := &Server{ops: opTable(), index: idx}
	for _, tc := range []struct {
		name   string
		h      http.Header
		status int  // of a success
		code   Code // of a refusal
	}{
		{"none", header(), http.StatusOK, Code{}},
		{"if-match", header("If-Match", etag), http.StatusOK, Code{}},
		{"if-match quoted", header("If-Match", `"`+etag+`"`), http.StatusOK, Code{}},
		{"if-match *", header("If-Match", "*"), http.StatusOK, Code{}},
		{"if-match other", header("If-Match", "0000"), 0, codePreconditionFailed},
		{"if-none-match other", header("If-None-Match", "0000"), http.StatusOK, Code{}},
		{"if-none-match", header("If-None-Match", etag), http.StatusNotModified, Code{}},
		{"if-none-match quoted", header("If-None-Match", `"`+etag+`"`), http.StatusNotModified, Code{}},
		{"if-none-match *", header("If-None-Match", "*"), 0, codeInvalidParameter},
		{"both, if-match fails first", header("If-Match", "0000", "If-None-Match", etag), 0, codePreconditionFailed},
	} {
		for _, o := range []op{opHeadObject, opGetObject} {
			method := map[op]string{opHeadObject: http.MethodHead, opGetObject: http.MethodGet}[o]
			if o == opGetObject && tc.status == http.StatusOK {
				continue // a GET that succeeds reads data: the e2e tests'
			}
			w, err := serveOp(t, s, o, method, tc.h)
			switch {
			case tc.code != (Code{}):
				if toError(err).Code != tc.code {
					t.Errorf("%s %s: %v, want %s", method, tc.name, err, tc.code.Name)
				}
			case err != nil || w.Code != tc.status:
				t.Errorf("%s %s: %d %v, want %d", method, tc.name, w.Code, err, tc.status)
			case tc.status == http.StatusNotModified && (w.Body.Len() != 0 || w.Header().Get("ETag") != etag):
				t.Errorf("%s %s: 304 with body %q, etag %q", method, tc.name, w.Body.String(), w.Header().Get("ETag"))
			}
		}
	}
}

// An SSE-C object's conditions are judged only once its key is: without
// it the answer is the key's refusal, whatever the ETag.
func TestReadConditionsAfterKey(t *testing.T) {
	key := make([]byte, 32)
	kh := ociKeyHeaders(key)
	ck, err := sse.CustomerKeyFromOCIHeaders(kh)
	if err != nil {
		t.Fatal(err)
	}
	enc := model.UploadEncryption(ck) // a key check, as a version keeps one
	idx := &condIndex{obj: &cairnpb.ObjectVersion{Key: "x", Etag: "abcd", Encryption: enc}}
	s := &Server{ops: opTable(), index: idx}
	if _, err := serveOp(t, s, opHeadObject, http.MethodHead, header("If-None-Match", "abcd")); toError(err).Code != codeInvalidParameter {
		t.Errorf("no key: %v, want InvalidParameter", err)
	}
	h := kh.Clone()
	h.Set("If-None-Match", "abcd")
	if w, err := serveOp(t, s, opHeadObject, http.MethodHead, h); err != nil || w.Code != http.StatusNotModified {
		t.Errorf("with the key: %d %v, want 304", w.Code, err)
	}
}

func TestConditionalDelete(t *testing.T) {
	const etag = "9a0364b9e99bb480dd25e1f0284c8555"
	for _, tc := range []struct {
		name    string
		h       http.Header
		want    *cairnpb.WriteCondition
		code    Code
		deleted bool
	}{
		{"none", header(), nil, Code{}, true},
		{"right", header("If-Match", etag), &cairnpb.WriteCondition{IfMatchEtag: etag}, Code{}, true},
		{"right, quoted", header("If-Match", `"`+etag+`"`), &cairnpb.WriteCondition{IfMatchEtag: etag}, Code{}, true},
		{"any", header("If-Match", "*"), &cairnpb.WriteCondition{IfMatchAny: true}, Code{}, true},
		{"wrong", header("If-Match", "0000"), &cairnpb.WriteCondition{IfMatchEtag: "0000"}, codePreconditionFailed, false},
		{"if-none-match", header("If-None-Match", "*"), nil, codeNotImplemented, false},
	} {
		idx := &condIndex{obj: &cairnpb.ObjectVersion{Key: "x", Etag: etag}}
		s := &Server{ops: opTable(), index: idx}
		w, err := serveOp(t, s, opDeleteObject, http.MethodDelete, tc.h)
		if tc.code != (Code{}) {
			if toError(err).Code != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code.Name)
			}
		} else if err != nil || w.Code != http.StatusNoContent {
			t.Errorf("%s: %d %v, want 204", tc.name, w.Code, err)
		}
		if (idx.obj == nil) != tc.deleted {
			t.Errorf("%s: deleted %v, want %v", tc.name, idx.obj == nil, tc.deleted)
		}
		if tc.code != codeNotImplemented && (len(idx.deleted) != 1 || !proto.Equal(idx.deleted[0], tc.want)) {
			t.Errorf("%s: meta was asked %v, want %v", tc.name, idx.deleted, tc.want)
		}
	}
}

// A part of an SSE-C upload must bring the upload's key; a part of an
// upload without one must bring none. Each refusal comes before any data
// moves (the Server here has no object store).
func TestUploadPartKey(t *testing.T) {
	keyA, keyB := make([]byte, 32), make([]byte, 32)
	keyB[0] = 1
	ckA, err := sse.CustomerKeyFromOCIHeaders(ociKeyHeaders(keyA))
	if err != nil {
		t.Fatal(err)
	}
	withLength := func(h http.Header) http.Header {
		h = h.Clone()
		h.Set("Content-Length", "0")
		return h
	}
	sealed := &condIndex{upload: &cairnpb.MultipartUpload{Key: "x", UploadId: "U", Encryption: model.UploadEncryption(ckA)}}
	plain := &condIndex{upload: &cairnpb.MultipartUpload{Key: "x", UploadId: "U"}}
	for _, tc := range []struct {
		name string
		idx  *condIndex
		h    http.Header
	}{
		{"no key for an SSE-C upload", sealed, header()},
		{"another key", sealed, ociKeyHeaders(keyB)},
		{"a key for an upload without one", plain, ociKeyHeaders(keyA)},
	} {
		s := &Server{ops: opTable(), index: tc.idx, cfg: Config{MaxObjectSize: 1 << 20}}
		_, err := serveOp(t, s, opUploadPart, http.MethodPut, withLength(tc.h))
		if e := toError(err); err == nil || e.Code != codeInvalidParameter {
			t.Errorf("%s: %v, want InvalidParameter", tc.name, err)
		}
	}
}

func (f *condIndex) CreateMultipartUpload(_ context.Context, _, _ string, u *cairnpb.MultipartUpload) (*cairnpb.MultipartUpload, error) {
	f.upload = proto.Clone(u).(*cairnpb.MultipartUpload)
	f.upload.UploadId = "U"
	return f.upload, nil
}

// An upload begun through a PAR with a key keeps the key's check, as
// CreateMultipartUpload's does, and echoes the key's hash.
func TestPARUploadKeepsKey(t *testing.T) {
	kh := ociKeyHeaders(make([]byte, 32))
	ck, err := sse.CustomerKeyFromOCIHeaders(kh)
	if err != nil {
		t.Fatal(err)
	}
	idx := &condIndex{}
	s := &Server{ops: opTable(), index: idx}
	w, err := serveOp(t, s, opPARCreateUpload, http.MethodPut, kh)
	if err != nil || w.Code != http.StatusOK {
		t.Fatalf("%d %v", w.Code, err)
	}
	if w.Header().Get("opc-sse-customer-key-sha256") != kh.Get("opc-sse-customer-key-sha256") {
		t.Errorf("no echo of the key's hash: %v", w.Header())
	}
	if model.CheckUploadKey(idx.upload, ck) != nil || model.CheckUploadKey(idx.upload, nil) == nil {
		t.Errorf("the upload does not keep the key's check: %v", idx.upload.GetEncryption())
	}
}
