package s3api

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sigv2"
	"github.com/cairn-store/cairn/s3api/sigv4"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Browser-form uploads (S3's POST Object): POST on a bucket with a
// multipart/form-data body whose fields carry the key, a policy (base64
// JSON: an expiration and conditions every other field must meet) signed
// with the uploader's secret (SigV4 or SigV2), object headers and
// metadata, and last the file. The fields are read whole (at most
// maxPostFields bytes); the file streams into the object model like any
// PUT, its length known only at its end. The pipeline does not
// authenticate the request (its op row is accessByHandler): the form's
// signature does, here, and the principal must be allowed to write the
// key, as for a PUT.

// maxPostFields bounds the bytes of the fields before the file.
const maxPostFields = 20 << 10

// Errors of POST uploads, with S3's codes.
var (
	malformedPOST = s3err.Code{Name: "MalformedPOSTRequest", Status: http.StatusBadRequest,
		Message: "The body of your POST request is not well-formed multipart/form-data."}
	postFieldsTooLarge = s3err.Code{Name: "MaxPostPreDataLengthExceeded", Status: http.StatusBadRequest,
		Message: "Your POST request fields preceding the upload file were too large."}
	invalidPolicy = s3err.Code{Name: "InvalidPolicyDocument", Status: http.StatusBadRequest,
		Message: "The content of the form does not meet the conditions specified in the policy document."}
)

// postUnsigned are the fields no policy condition needs to name.
var postUnsigned = map[string]bool{
	"Policy": true, "X-Amz-Signature": true, "Signature": true, "Awsaccesskeyid": true, "File": true,
}

func (s *Server) postObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" || params["boundary"] == "" {
		// Not a browser form: no S3 operation is a POST on a bucket.
		return s3err.New(s3err.MethodNotAllowed, "")
	}
	form, file, err := readPostForm(multipart.NewReader(r.Body, params["boundary"]))
	if err != nil {
		return err
	}
	raw := form.Get("Key")
	if raw == "" {
		return s3err.New(s3err.InvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	key := strings.ReplaceAll(raw, "${filename}", file.FileName())
	if len(key) > maxKeyLength {
		return s3err.New(s3err.KeyTooLong, "")
	}
	if !utf8.ValidString(key) {
		return s3err.New(s3err.InvalidArgument, "The key is not valid UTF-8.")
	}
	req.key = key

	policyDoc, err := s.authenticatePost(ctx, form, req)
	if err != nil {
		return err
	}
	if err := s.authorizeAccess(ctx, req, access{rule: accessWrite}); err != nil {
		return err
	}
	minSize, maxSize, err := checkPostPolicy(policyDoc, form, req.bucket, s.now())
	if err != nil {
		return err
	}
	maxSize = min(maxSize, s.cfg.MaxObjectSize)

	// The form's fields stand for the headers of a PUT.
	if acl := form.Get("Acl"); acl != "" {
		form.Set("X-Amz-Acl", acl)
	}
	if _, err := checkACLHeaders(form, req, aclNotSupported); err != nil {
		return err
	}
	md, err := userMetadata(form)
	if err != nil {
		return err
	}
	var tags map[string]string
	if doc := form.Get("Tagging"); doc != "" {
		if tags, err = parseTaggingDoc([]byte(doc), maxObjectTags, true); err != nil {
			return err
		}
	}
	want, err := checksum.FromHeaders(form)
	if err != nil {
		return err
	}
	digestSent := want.ContentMD5 != "" || want.Value != ""
	lock, err := s.writeLock(ctx, form, req, &digestSent)
	if err != nil {
		return err
	}
	sums, err := checksum.NewSet(want.Algorithms()...)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromHeaders(form)
	if err != nil {
		return err
	}
	if err := sse.CheckServerSide(form, ck); err != nil {
		return err
	}
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}

	v, err := s.objects.WriteUpTo(ctx, file, maxSize, sums, func() error { return want.Verify(sums, nil) }, ck)
	if errors.Is(err, model.ErrTooLarge) {
		return s3err.Wrap(s3err.EntityTooLarge, err)
	}
	if err != nil {
		return err
	}
	if v.GetSize() < minSize {
		return s3err.New(s3err.EntityTooSmall, "") // the shards are orphans, reclaimed by meta
	}
	v.Key = req.key
	v.Etag = model.DataETag(v.GetEncryption(), ck, sums.MD5())
	v.ContentType = form.Get("Content-Type")
	v.UserMetadata = md
	v.Headers = contentHeaders(form)
	v.Checksums = map[string]string{}
	for _, alg := range want.Algorithms() {
		v.Checksums[alg] = sums.Base64(alg)
	}
	vid, err := s.commitVersion(ctx, req, v, writeOptions{tags: tags, lock: lock})
	if err != nil {
		return err
	}
	return s.postResponse(w, r, form, req, `"`+v.GetEtag()+`"`, vid, ck)
}

// readPostForm reads the fields before the file, by canonical name, and
// returns the file part, still unread.
func readPostForm(mr *multipart.Reader) (http.Header, *multipart.Part, error) {
	form := http.Header{}
	total := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, nil, s3err.New(s3err.InvalidArgument, "POST requires exactly one file upload per request.")
		}
		if err != nil {
			return nil, nil, s3err.Wrap(malformedPOST, err)
		}
		name := p.FormName()
		if name == "" {
			return nil, nil, s3err.New(malformedPOST, "")
		}
		if strings.EqualFold(name, "file") {
			return form, p, nil
		}
		val, err := io.ReadAll(io.LimitReader(p, int64(maxPostFields-total+1)))
		if err != nil {
			return nil, nil, s3err.Wrap(malformedPOST, err)
		}
		if total += len(name) + len(val); total > maxPostFields {
			return nil, nil, s3err.New(postFieldsTooLarge, "")
		}
		if !utf8.Valid(val) {
			return nil, nil, s3err.New(s3err.InvalidArgument, fmt.Sprintf("The form field %s is not valid UTF-8.", name))
		}
		form.Add(name, string(val))
	}
}

// authenticatePost checks the form's signature of its policy, SigV4
// (x-amz-algorithm, -credential, -date, -signature) or SigV2
// (AWSAccessKeyId, signature), makes the request act as the signer, and
// returns the decoded policy. A form without a signature is anonymous,
// and no bucket takes anonymous writes.
func (s *Server) authenticatePost(ctx context.Context, form http.Header, req *request) ([]byte, error) {
	policyB64 := form.Get("Policy")
	var access, sig string
	var sign func(secret string) string
	switch {
	case form.Get("X-Amz-Signature") != "":
		if form.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
			return nil, s3err.New(s3err.InvalidArgument, "POST with x-amz-signature needs x-amz-algorithm AWS4-HMAC-SHA256.")
		}
		parts := strings.Split(form.Get("X-Amz-Credential"), "/")
		if len(parts) != 5 || parts[3] != "s3" || parts[4] != "aws4_request" {
			return nil, s3err.New(s3err.InvalidArgument, "x-amz-credential must be <access key>/<date>/<region>/s3/aws4_request.")
		}
		if region := parts[2]; region != s.cfg.Region && region != "us-east-1" {
			return nil, &s3err.Error{Code: s3err.AuthorizationHeaderMalformed, Region: s.cfg.Region,
				Message: fmt.Sprintf("The region %q is wrong; expecting %q", region, s.cfg.Region)}
		}
		if date := form.Get("X-Amz-Date"); len(date) < 8 || date[:8] != parts[1] {
			return nil, s3err.New(s3err.InvalidArgument, "x-amz-date must be of the credential's date.")
		}
		access, sig = parts[0], form.Get("X-Amz-Signature")
		sign = func(secret string) string { return sigv4.PolicySignature(secret, parts[1], parts[2], "s3", policyB64) }
	case form.Get("Signature") != "":
		access, sig = form.Get("Awsaccesskeyid"), form.Get("Signature")
		sign = func(secret string) string { return sigv2.Sign(secret, policyB64) }
	default:
		return nil, s3err.New(s3err.AccessDenied, "Anonymous POST uploads are not allowed: sign the form's policy.")
	}
	if policyB64 == "" {
		return nil, s3err.New(s3err.InvalidArgument, "Bucket POST must contain a field named 'policy' when it is signed.")
	}
	secret, err := s.secretFor(ctx, access, req, sigv4.ErrUnknownAccessKey)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(sign(secret)), []byte(sig)) {
		return nil, s3err.New(s3err.SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	doc, err := base64.StdEncoding.DecodeString(policyB64)
	if err != nil {
		return nil, s3err.New(invalidPolicy, "Invalid Policy: Invalid base64 encoding.")
	}
	return doc, nil
}

// checkPostPolicy checks a form against its policy: not expired, every
// condition met, every field but the unsigned ones named by a condition.
// It returns the content-length-range (0 and the largest int64 when the
// policy has none).
func checkPostPolicy(doc []byte, form http.Header, bucket string, now time.Time) (minSize, maxSize int64, err error) {
	var p struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid JSON.")
	}
	exp, err := time.Parse(time.RFC3339, p.Expiration)
	if err != nil {
		return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid 'expiration' value: '"+p.Expiration+"'")
	}
	if now.After(exp) {
		return 0, 0, s3err.New(s3err.AccessDenied, "Invalid according to Policy: Policy expired.")
	}
	value := func(field string) (string, bool) {
		field = strings.TrimPrefix(field, "$")
		if strings.EqualFold(field, "bucket") {
			return bucket, true
		}
		vs, ok := form[http.CanonicalHeaderKey(field)]
		if !ok {
			return "", false
		}
		return vs[0], true
	}
	named := map[string]bool{"Bucket": true}
	minSize, maxSize = 0, 1<<63-1
	for _, raw := range p.Conditions {
		var eq map[string]string
		if json.Unmarshal(raw, &eq) == nil {
			for field, want := range eq {
				named[http.CanonicalHeaderKey(field)] = true
				if got, _ := value(field); got != want {
					return 0, 0, policyFailed(raw)
				}
			}
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil || len(arr) != 3 {
			return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid Condition: "+string(raw))
		}
		var op string
		if json.Unmarshal(arr[0], &op) != nil {
			return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid Condition: "+string(raw))
		}
		if strings.EqualFold(op, "content-length-range") {
			lo, lerr := jsonInt(arr[1])
			hi, herr := jsonInt(arr[2])
			if lerr != nil || herr != nil || lo < 0 || hi < lo {
				return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid content-length-range: "+string(raw))
			}
			minSize, maxSize = lo, hi
			continue
		}
		var field, want string
		if json.Unmarshal(arr[1], &field) != nil || json.Unmarshal(arr[2], &want) != nil || !strings.HasPrefix(field, "$") {
			return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid Condition: "+string(raw))
		}
		named[http.CanonicalHeaderKey(strings.TrimPrefix(field, "$"))] = true
		got, _ := value(field)
		switch strings.ToLower(op) {
		case "eq":
			if got != want {
				return 0, 0, policyFailed(raw)
			}
		case "starts-with":
			if !strings.HasPrefix(got, want) {
				return 0, 0, policyFailed(raw)
			}
		default:
			return 0, 0, s3err.New(invalidPolicy, "Invalid Policy: Invalid Condition: "+string(raw))
		}
	}
	for name := range form {
		if !named[name] && !postUnsigned[name] && !strings.HasPrefix(name, "X-Ignore-") {
			return 0, 0, s3err.New(s3err.AccessDenied, "Invalid according to Policy: Extra input fields: "+strings.ToLower(name))
		}
	}
	return minSize, maxSize, nil
}

func policyFailed(cond json.RawMessage) error {
	return s3err.New(s3err.AccessDenied, "Invalid according to Policy: Policy Condition failed: "+string(cond))
}

// jsonInt reads a number given as a JSON number or string.
func jsonInt(raw json.RawMessage) (int64, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.Int64()
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postResponse answers a stored upload: a 303 to success_action_redirect
// (with bucket, key and etag added to its query), else the status
// success_action_status asks for: 200 or 204 empty, 201 with a
// PostResponse document.
func (s *Server) postResponse(w http.ResponseWriter, r *http.Request, form http.Header, req *request, etag, vid string, ck *sse.CustomerKey) error {
	h := w.Header()
	h.Set("ETag", etag)
	setWrittenVersion(h, vid)
	setEncryptionHeaders(h, ck)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := (&url.URL{Scheme: scheme, Host: r.Host, Path: "/" + req.bucket + "/" + req.key}).String()
	h.Set("Location", loc)
	redirect := form.Get("Success_action_redirect")
	if redirect == "" {
		redirect = form.Get("Redirect")
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && u.Scheme != "" {
		q := u.Query()
		q.Set("bucket", req.bucket)
		q.Set("key", req.key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		h.Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	switch form.Get("Success_action_status") {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		return writeXMLStatus(w, http.StatusCreated, postResponse{Location: loc, Bucket: req.bucket, Key: req.key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}
