package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/bucketpolicy"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// Bucket policies and public access blocks as S3 has them. The grammar,
// the evaluation of one document and what makes a document public are
// package bucketpolicy's; this file is the S3 side: the operations, the
// request's principal and condition values, and how a policy's decision
// joins the OCI policies' (authorize.go, docs/policies.md).

// Errors of bucket policies with S3's codes.
var (
	malformedPolicy = s3err.Code{Name: "MalformedPolicy", Status: http.StatusBadRequest,
		Message: "Policies must be valid JSON and the first byte must be '{'"}
	noSuchBucketPolicy = s3err.Code{Name: "NoSuchBucketPolicy", Status: http.StatusNotFound,
		Message: "The bucket policy does not exist"}
	noSuchPublicAccessBlock = s3err.Code{Name: "NoSuchPublicAccessBlockConfiguration", Status: http.StatusNotFound,
		Message: "The public access block configuration was not found"}
)

// maxBucketPolicy is S3's bound on a policy document (a body is read up
// to maxXMLBody, so that a larger one gets this error).
const maxBucketPolicy = 20 << 10

// readOptionallyDigested reads a body on which S3 checks a Content-MD5 or
// x-amz-checksum-* when one is sent, but which clients send without
// (minio-go's SetBucketPolicy does): verified as readDigestedBody when
// it carries a digest, read as is (the signature covers its hash) when not.
func readOptionallyDigested(r *http.Request, limit int) ([]byte, error) {
	want, err := checksum.FromHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	if want.ContentMD5 == "" && want.Value == "" && want.Trailer == "" {
		return readBounded(r.Body, limit)
	}
	return readDigestedBody(r, limit)
}

func (s *Server) putBucketPolicy(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readOptionallyDigested(r, maxXMLBody)
	if err != nil {
		return err
	}
	if len(body) > maxBucketPolicy {
		return s3err.New(s3err.InvalidArgument, fmt.Sprintf("Policy document is larger than the maximum of %d bytes.", maxBucketPolicy))
	}
	p, err := bucketpolicy.Parse(body, req.bucket)
	if err != nil {
		return s3err.New(malformedPolicy, err.Error())
	}
	// Meta refuses a public policy while the bucket's BlockPublicPolicy is
	// on (rpcerr.ErrPublicPolicyBlocked), in the apply.
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Policy{
		Policy: &cairnpb.BucketPolicyConfig{Document: string(body), Public: p.Public()}}})
}

func (s *Server) getBucketPolicy(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if b.GetPolicy() == "" {
		return s3err.New(noSuchBucketPolicy, "")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b.GetPolicy())))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.GetPolicy()))
	return nil
}

func (s *Server) deleteBucketPolicy(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Policy{Policy: &cairnpb.BucketPolicyConfig{}}, Remove: true})
}

type policyStatusXML struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	XMLNS    string   `xml:"xmlns,attr,omitempty"`
	IsPublic bool     `xml:"IsPublic"`
}

func (s *Server) getBucketPolicyStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if b.GetPolicy() == "" {
		return s3err.New(noSuchBucketPolicy, "")
	}
	p, err := bucketpolicy.Parse([]byte(b.GetPolicy()), req.bucket)
	if err != nil {
		return fmt.Errorf("s3api: stored policy of bucket %q: %w", req.bucket, err)
	}
	return writeXML(w, policyStatusXML{XMLNS: s3XMLNS, IsPublic: p.Public()})
}

type publicAccessBlockXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	XMLNS                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       *bool    `xml:"BlockPublicAcls"`
	IgnorePublicAcls      *bool    `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     *bool    `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets *bool    `xml:"RestrictPublicBuckets"`
}

func (s *Server) putPublicAccessBlock(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readOptionallyDigested(r, maxXMLBody)
	if err != nil {
		return err
	}
	var doc publicAccessBlockXML
	if err := xml.Unmarshal(body, &doc); err != nil {
		return s3err.Wrap(s3err.MalformedXML, err)
	}
	flag := func(b *bool) bool { return b != nil && *b }
	block := &cairnpb.PublicAccessBlock{
		BlockPublicAcls:       flag(doc.BlockPublicAcls),
		IgnorePublicAcls:      flag(doc.IgnorePublicAcls),
		BlockPublicPolicy:     flag(doc.BlockPublicPolicy),
		RestrictPublicBuckets: flag(doc.RestrictPublicBuckets),
	}
	return s.setBucketConfig(ctx, w, req, http.StatusOK, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_PublicAccessBlock{PublicAccessBlock: block}})
}

func (s *Server) getPublicAccessBlock(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	pab := b.GetPublicAccessBlock()
	if pab == nil {
		return s3err.New(noSuchPublicAccessBlock, "")
	}
	v := func(b bool) *bool { return &b }
	return writeXML(w, publicAccessBlockXML{XMLNS: s3XMLNS,
		BlockPublicAcls: v(pab.GetBlockPublicAcls()), IgnorePublicAcls: v(pab.GetIgnorePublicAcls()),
		BlockPublicPolicy: v(pab.GetBlockPublicPolicy()), RestrictPublicBuckets: v(pab.GetRestrictPublicBuckets())})
}

func (s *Server) deletePublicAccessBlock(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_PublicAccessBlock{PublicAccessBlock: &cairnpb.PublicAccessBlock{}}, Remove: true})
}

// bucketPolicyDecision is what the policy of n's bucket says about n:
// NoDecision when the bucket has no policy (or does not exist), when the
// need is on no existing bucket (CreateBucket, ListBuckets), and for the operator on an operation it is always
// allowed (access.ownerAlways). Under RestrictPublicBuckets a public
// policy allows nothing to unsigned requests; its Deny statements still
// count. buckets memoizes the bucket records looked up for the request.
func (s *Server) bucketPolicyDecision(ctx context.Context, req *request, n need, a access, buckets map[string]*cairnpb.Bucket) (bucketpolicy.Decision, error) {
	who := req.who
	onBucket := n.kind == needPerm || n.kind == needWrite // not CreateBucket, ListBuckets
	if !onBucket || n.action == "" || n.bucket == "" || (who != nil && who.operator && a.ownerAlways) {
		return bucketpolicy.NoDecision, nil
	}
	bk, ok := buckets[n.bucket]
	if !ok {
		var err error
		bk, err = s.confs.get(ctx, req.ns, n.bucket)
		switch {
		case errors.Is(err, rpcerr.ErrBucketNotFound):
			bk = nil
		case err != nil:
			return bucketpolicy.NoDecision, fmt.Errorf("s3api: authorize: find bucket %q: %w", n.bucket, err)
		}
		buckets[n.bucket] = bk
	}
	if bk.GetPolicy() == "" {
		return bucketpolicy.NoDecision, nil
	}
	p, err := bucketpolicy.Parse([]byte(bk.GetPolicy()), n.bucket)
	if err != nil {
		return bucketpolicy.NoDecision, fmt.Errorf("s3api: stored policy of bucket %q: %w", n.bucket, err)
	}
	resource := bucketpolicy.BucketARN(n.bucket)
	if n.key != "" {
		resource = bucketpolicy.ObjectARN(n.bucket, n.key)
	}
	d, err := p.Evaluate(bucketpolicy.Request{Principal: policyPrincipal(who), Action: n.action,
		Resource: resource, Values: s.conditionValues(ctx, req, n)})
	if err != nil {
		return bucketpolicy.NoDecision, err
	}
	// A signed principal acts in its own namespace only (authorize), so
	// the cross-tenant half of RestrictPublicBuckets never arises.
	if d == bucketpolicy.Allowed && who == nil && bk.GetPublicAccessBlock().GetRestrictPublicBuckets() && p.Public() {
		return bucketpolicy.NoDecision, nil
	}
	return d, nil
}

// policyDeniesKey applies the bucket policy to one key of a request that
// names its keys in its body (access.keysInBody): AccessDenied when the
// policy denies the operation's action on that key (or version).
func (s *Server) policyDeniesKey(ctx context.Context, req *request, key, versionID string, buckets map[string]*cairnpb.Bucket) error {
	a := s.ops[req.op].action
	name := a.name
	if versionID != "" && a.version != "" {
		name = a.version
	}
	n := need{kind: needPerm, bucket: req.bucket, key: key, action: name}
	d, err := s.bucketPolicyDecision(ctx, req, n, s.ops[req.op].access, buckets)
	if err != nil {
		return err
	}
	if d == bucketpolicy.Denied {
		return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: the policy of bucket %q denies %s of %q: %w", req.bucket, name, key, errAccessDenied))
	}
	return nil
}

// policyPrincipal names who in bucket policies' terms: anonymous, or the
// namespace (its root ARN and bare name) and, for a user, the user's and
// its groups' ARNs.
func policyPrincipal(who *principal) bucketpolicy.Principal {
	if who == nil {
		return bucketpolicy.Principal{Anonymous: true}
	}
	arns := []string{bucketpolicy.NamespaceARN(who.ns), who.ns}
	if !who.operator {
		arns = append(arns, bucketpolicy.UserARN(who.ns, who.user))
		for _, g := range who.groups {
			arns = append(arns, bucketpolicy.GroupARN(who.ns, g))
		}
	}
	return bucketpolicy.Principal{ARNs: arns}
}

// conditionValues returns the values of the condition keys Cairn knows for
// req, read only when a statement names them.
func (s *Server) conditionValues(ctx context.Context, req *request, n need) func(string) ([]string, bool, error) {
	r, who := req.http, req.who
	one := func(v string) ([]string, bool, error) { return []string{v}, true, nil }
	return func(key string) ([]string, bool, error) {
		lower := strings.ToLower(key)
		switch lower {
		case "aws:sourceip":
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			return one(host)
		case "aws:securetransport":
			return one(strconv.FormatBool(r.TLS != nil))
		case "aws:currenttime":
			return one(s.now().UTC().Format(time.RFC3339))
		case "aws:epochtime":
			return one(strconv.FormatInt(s.now().Unix(), 10))
		case "aws:username":
			if who == nil || who.operator {
				return nil, false, nil
			}
			return one(who.user)
		case "aws:principaltype":
			switch {
			case who == nil:
				return one("Anonymous")
			case who.operator:
				return one("Account")
			}
			return one("User")
		case "aws:useragent", "aws:referer":
			h := r.Header.Values(strings.TrimPrefix(lower, "aws:"))
			return h, len(h) > 0, nil
		case "s3:prefix", "s3:delimiter", "s3:max-keys":
			vals, ok := req.query[strings.TrimPrefix(lower, "s3:")]
			return vals, ok, nil
		case "s3:versionid":
			if !req.hasVersionID {
				return nil, false, nil
			}
			return one(req.versionID)
		}
		if strings.HasPrefix(lower, "s3:existingobjecttag/") {
			if n.key == "" {
				return nil, false, nil
			}
			v, err := s.cfg.Index.GetObject(ctx, req.ns, n.bucket, n.key)
			switch {
			case errors.Is(err, rpcerr.ErrObjectNotFound), errors.Is(err, rpcerr.ErrBucketNotFound):
				return nil, false, nil
			case err != nil:
				return nil, false, fmt.Errorf("s3api: tags of %s/%s for a bucket policy: %w", n.bucket, n.key, err)
			}
			tag, ok := v.GetTags()[key[len("s3:existingobjecttag/"):]]
			if !ok {
				return nil, false, nil
			}
			return one(tag)
		}
		if strings.HasPrefix(lower, "s3:x-amz-") {
			h := r.Header.Values(lower[len("s3:"):])
			return h, len(h) > 0, nil
		}
		return nil, false, nil
	}
}

// hideMissingKey answers an unsigned request's NoSuchKey with AccessDenied
// unless the bucket's policy lets the public list the bucket, as S3 does:
// without s3:ListBucket, a caller cannot tell a missing key from one it
// may not read, so a public bucket cannot be probed for names.
func (s *Server) hideMissingKey(ctx context.Context, req *request, err error) error {
	if req.who != nil || req.bucket == "" || !errors.Is(err, rpcerr.ErrObjectNotFound) {
		return err
	}
	list := need{kind: needPerm, perm: policy.ObjectInspect, bucket: req.bucket, action: s.ops[OpListObjectsV2].action.name}
	d, derr := s.bucketPolicyDecision(ctx, req, list, access{}, map[string]*cairnpb.Bucket{})
	if derr == nil && d == bucketpolicy.Allowed {
		return err
	}
	return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: no bucket policy lets the public list %q, so its missing keys are not told apart (%w): %w",
		req.bucket, err, errAccessDenied))
}
