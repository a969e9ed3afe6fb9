package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// CORS as S3 does it: a bucket's rules say which browser origins may use
// it with which methods and request headers. Preflights (OPTIONS) are
// answered from the rules without authentication; any other request that
// carries an Origin the rules allow for its method gets the CORS response
// headers, errors included. A bucket is looked up in the namespace the
// request's host names (or the gateway's default) before the request is
// authenticated, since errors of authentication need the headers too.

// Errors of CORS with S3's codes.
var (
	noSuchCORS = s3err.Code{Name: "NoSuchCORSConfiguration", Status: http.StatusNotFound,
		Message: "The CORS configuration does not exist"}
	corsForbidden = s3err.Code{Name: "AccessForbidden", Status: http.StatusForbidden,
		Message: "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."}
)

// corsMethods are the methods a rule may allow.
var corsMethods = []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodPost, http.MethodDelete}

type corsConfiguration struct {
	XMLName xml.Name      `xml:"CORSConfiguration"`
	XMLNS   string        `xml:"xmlns,attr,omitempty"`
	Rules   []corsRuleXML `xml:"CORSRule"`
}

type corsRuleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int32   `xml:"MaxAgeSeconds"`
}

// parseCors checks a PutBucketCors document as S3 does and returns it
// for meta.
func parseCors(body []byte) (*cairnpb.BucketCors, error) {
	var doc corsConfiguration
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, s3err.Wrap(s3err.MalformedXML, err)
	}
	if len(doc.Rules) == 0 || len(doc.Rules) > 100 {
		return nil, s3err.New(s3err.MalformedXML, fmt.Sprintf("A CORS configuration holds 1 to 100 rules, not %d.", len(doc.Rules)))
	}
	out := &cairnpb.BucketCors{}
	for i, r := range doc.Rules {
		if len(r.ID) > 255 {
			return nil, s3err.New(s3err.InvalidArgument, fmt.Sprintf("CORS rule %d: the ID is longer than 255 characters.", i+1))
		}
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return nil, s3err.New(s3err.MalformedXML, fmt.Sprintf("CORS rule %d needs at least one AllowedOrigin and one AllowedMethod.", i+1))
		}
		for _, m := range r.AllowedMethods {
			known := false
			for _, c := range corsMethods {
				known = known || m == c
			}
			if !known {
				return nil, s3err.New(s3err.InvalidRequest, fmt.Sprintf("Found unsupported HTTP method in CORS config. Unsupported method is %s", m))
			}
		}
		for _, list := range [][]string{r.AllowedOrigins, r.AllowedHeaders} {
			for _, v := range list {
				if strings.Count(v, "*") > 1 {
					return nil, s3err.New(s3err.InvalidRequest, fmt.Sprintf("%q can not have more than one wildcard.", v))
				}
			}
		}
		rule := &cairnpb.CorsRule{Id: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
			AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: -1}
		if r.MaxAgeSeconds != nil {
			if *r.MaxAgeSeconds < 0 {
				return nil, s3err.New(s3err.MalformedXML, "MaxAgeSeconds must not be negative.")
			}
			rule.MaxAgeSeconds = *r.MaxAgeSeconds
		}
		out.Rules = append(out.Rules, rule)
	}
	return out, nil
}

func (s *Server) putBucketCors(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readDigestedBody(r, maxXMLBody)
	if err != nil {
		return err
	}
	cors, err := parseCors(body)
	if err != nil {
		return err
	}
	return s.setBucketConfig(ctx, w, req, http.StatusOK, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Cors{Cors: cors}})
}

func (s *Server) getBucketCors(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if len(b.GetCors().GetRules()) == 0 {
		return s3err.New(noSuchCORS, "")
	}
	doc := corsConfiguration{XMLNS: s3XMLNS}
	for _, r := range b.GetCors().GetRules() {
		x := corsRuleXML{ID: r.GetId(), AllowedHeaders: r.GetAllowedHeaders(), AllowedMethods: r.GetAllowedMethods(),
			AllowedOrigins: r.GetAllowedOrigins(), ExposeHeaders: r.GetExposeHeaders()}
		if age := r.GetMaxAgeSeconds(); age >= 0 {
			x.MaxAgeSeconds = &age
		}
		doc.Rules = append(doc.Rules, x)
	}
	return writeXML(w, doc)
}

func (s *Server) deleteBucketCors(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Cors{Cors: &cairnpb.BucketCors{}}, Remove: true})
}

// wildcardMatch matches s against a pattern with at most one "*" (any
// run of characters), case-insensitively when fold.
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	before, after, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

// corsMatch returns the first rule allowing origin to use method with the
// request headers listed, or nil.
func corsMatch(cors *cairnpb.BucketCors, origin, method string, headers []string) *cairnpb.CorsRule {
	for _, r := range cors.GetRules() {
		ok := false
		for _, o := range r.GetAllowedOrigins() {
			ok = ok || wildcardMatch(o, origin, false)
		}
		if !ok {
			continue
		}
		ok = false
		for _, m := range r.GetAllowedMethods() {
			ok = ok || m == method
		}
		for _, h := range headers {
			allowed := false
			for _, a := range r.GetAllowedHeaders() {
				allowed = allowed || wildcardMatch(a, h, true)
			}
			ok = ok && allowed
		}
		if ok {
			return r
		}
	}
	return nil
}

// setCorsHeaders gives a response the headers of rule r for origin.
func setCorsHeaders(h http.Header, r *cairnpb.CorsRule, origin string) {
	allow := origin
	if len(r.GetAllowedOrigins()) == 1 && r.GetAllowedOrigins()[0] == "*" {
		allow = "*"
	} else {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Origin", allow)
	h.Set("Access-Control-Allow-Methods", strings.Join(r.GetAllowedMethods(), ", "))
	if len(r.GetExposeHeaders()) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(r.GetExposeHeaders(), ", "))
	}
	if age := r.GetMaxAgeSeconds(); age >= 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(age)))
	}
}

// corsNamespace is the namespace a request's bucket is looked up in for
// CORS, before (or without) authentication, and the one an unsigned
// request acts in (bucket policies).
func (s *Server) corsNamespace(req *request) string {
	if req.hostNS != "" {
		return req.hostNS
	}
	return s.cfg.Namespace
}

// preflight answers an OPTIONS request from the bucket's rules. It needs
// no credentials, as browsers send none.
func (s *Server) preflight(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if origin == "" {
		return s3err.New(s3err.BadRequest, "Insufficient information. Origin request header needed.")
	}
	if method == "" {
		return s3err.New(s3err.BadRequest, "Invalid Access-Control-Request-Method: null")
	}
	var headers []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				headers = append(headers, h)
			}
		}
	}
	// A missing bucket answers as one without rules, so that a preflight,
	// which needs no credentials, cannot tell which buckets exist.
	b, err := s.confs.get(ctx, s.corsNamespace(req), req.bucket)
	if err != nil || len(b.GetCors().GetRules()) == 0 {
		e := s3err.New(corsForbidden, "CORSResponse: CORS is not enabled for this bucket.")
		e.Err = err
		return e
	}
	rule := corsMatch(b.GetCors(), origin, method, headers)
	if rule == nil {
		return s3err.New(corsForbidden, "")
	}
	h := w.Header()
	setCorsHeaders(h, rule, origin)
	if len(headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	w.WriteHeader(http.StatusOK)
	return nil
}

// corsHeaders sets the CORS headers of a request that is not a preflight,
// when it has an Origin and its bucket's rules allow it; a lookup that
// fails sets none.
func (s *Server) corsHeaders(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) {
	origin := r.Header.Get("Origin")
	if origin == "" || req.bucket == "" || req.op == OpPreflight {
		return
	}
	b, err := s.confs.get(ctx, s.corsNamespace(req), req.bucket)
	if err != nil || len(b.GetCors().GetRules()) == 0 {
		return
	}
	if rule := corsMatch(b.GetCors(), origin, r.Method, nil); rule != nil {
		setCorsHeaders(w.Header(), rule, origin)
		w.Header().Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	}
}
