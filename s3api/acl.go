package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// ACLs the way S3 answers them under Object Ownership "BucketOwnerEnforced",
// the default of new AWS buckets since 2023 and the only mode of Cairn's:
// access is decided by policies (OCI IAM policies here), never by ACLs.
// ACL reads answer that the bucket's owner (its namespace) has
// FULL_CONTROL; ACL writes are accepted when they say exactly that (the
// canned ACLs "private" and "bucket-owner-full-control", or a grant list
// holding only the owner's FULL_CONTROL) and refused otherwise, so a tool
// that merely reads or sets a private ACL works, and one that would make
// data public learns that it cannot.

// Errors of ACL writes, with AWS's codes.
var (
	aclNotSupported = s3err.Code{Name: "AccessControlListNotSupported", Status: http.StatusBadRequest,
		Message: "The bucket does not allow ACLs"}
	aclWithOwnership = s3err.Code{Name: "InvalidBucketAclWithObjectOwnership", Status: http.StatusBadRequest,
		Message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"}
)

const objectOwnership = "BucketOwnerEnforced"

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	XMLNS   string   `xml:"xmlns,attr,omitempty"`
	Owner   owner    `xml:"Owner"`
	Grants  []grant  `xml:"AccessControlList>Grant"`
}

type grant struct {
	Grantee    grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

type grantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr,omitempty"`
	Type        string `xml:"xsi:type,attr,omitempty"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
	Email       string `xml:"EmailAddress,omitempty"`
}

// ownerOf is the owner S3 clients see for the request's buckets and
// objects: its namespace (the tenant), as ListBuckets names it.
func ownerOf(req *request) owner { return owner{ID: req.ns, DisplayName: req.ns} }

// ownerACL is the only ACL there is: the owner's FULL_CONTROL.
func ownerACL(req *request) accessControlPolicy {
	o := ownerOf(req)
	return accessControlPolicy{XMLNS: s3XMLNS, Owner: o, Grants: []grant{{
		Grantee:    grantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
}

// grantHeaders are the x-amz-grant-* headers of ACL writes.
var grantHeaders = []string{"x-amz-grant-full-control", "x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write", "x-amz-grant-write-acp"}

// checkACLHeaders accepts the ACL headers of a write (x-amz-acl and
// x-amz-grant-*) when they grant nothing but the owner's full control,
// and refuses them with refusal otherwise. It reports whether any was
// given.
func checkACLHeaders(h http.Header, req *request, refusal s3err.Code) (bool, error) {
	given := false
	if acl := h.Get("x-amz-acl"); acl != "" {
		given = true
		if acl != "private" && acl != "bucket-owner-full-control" {
			return true, s3err.New(refusal, "")
		}
	}
	for _, name := range grantHeaders {
		v := h.Get(name)
		if v == "" {
			continue
		}
		given = true
		if name != "x-amz-grant-full-control" || !grantsOnlyOwner(v, ownerOf(req).ID) {
			return true, s3err.New(refusal, "")
		}
	}
	return given, nil
}

// grantsOnlyOwner reports whether a grant header's value (`id="..."`
// entries, comma separated) names the owner and no one else.
func grantsOnlyOwner(v, ownerID string) bool {
	for _, g := range strings.Split(v, ",") {
		kind, val, ok := strings.Cut(strings.TrimSpace(g), "=")
		if !ok || strings.TrimSpace(kind) != "id" || strings.Trim(strings.TrimSpace(val), `"`) != ownerID {
			return false
		}
	}
	return true
}

func (s *Server) getBucketACL(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	return writeXML(w, ownerACL(req))
}

func (s *Server) getObjectACL(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	v, named, err := s.requestedVersion(ctx, req)
	if err != nil {
		return err
	}
	setVersionHeader(w.Header(), v, named)
	return writeXML(w, ownerACL(req))
}

func (s *Server) putBucketACL(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	if err := s.checkACLWrite(r, req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) putObjectACL(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	v, named, err := s.requestedVersion(ctx, req)
	if err != nil {
		return err
	}
	if err := s.checkACLWrite(r, req); err != nil {
		return err
	}
	setVersionHeader(w.Header(), v, named)
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkACLWrite accepts a PutBucketAcl or PutObjectAcl that sets the
// owner-only ACL, by header or by an AccessControlPolicy body.
func (s *Server) checkACLWrite(r *http.Request, req *request) error {
	given, err := checkACLHeaders(r.Header, req, aclNotSupported)
	if err != nil {
		return err
	}
	body, err := readXMLBody(r.Body)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		if !given {
			return s3err.New(s3err.MissingSecurityHeader, "Your request was missing a required header: x-amz-acl, an x-amz-grant-* header, or an AccessControlPolicy body.")
		}
		return nil
	}
	if given {
		return s3err.New(s3err.UnexpectedContent, "This request does not support content alongside ACL headers.")
	}
	var doc accessControlPolicy
	if err := xml.Unmarshal(body, &doc); err != nil {
		return s3err.Wrap(s3err.MalformedXML, err)
	}
	owner := ownerOf(req).ID
	if len(doc.Grants) == 0 {
		return s3err.New(aclNotSupported, "")
	}
	for _, g := range doc.Grants {
		if g.Permission != "FULL_CONTROL" || g.Grantee.ID != owner || g.Grantee.URI != "" || g.Grantee.Email != "" {
			return s3err.New(aclNotSupported, "")
		}
	}
	return nil
}

type ownershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	XMLNS   string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

func (s *Server) getBucketOwnershipControls(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	doc := ownershipControls{XMLNS: s3XMLNS}
	doc.Rules = append(doc.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{objectOwnership})
	return writeXML(w, doc)
}

// putBucketOwnershipControls accepts BucketOwnerEnforced, the one mode
// there is; the others would need ACLs.
func (s *Server) putBucketOwnershipControls(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	body, err := readXMLBody(r.Body)
	if err != nil {
		return err
	}
	var doc ownershipControls
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Rules) != 1 {
		return s3err.New(s3err.MalformedXML, "")
	}
	switch doc.Rules[0].ObjectOwnership {
	case objectOwnership:
		w.WriteHeader(http.StatusOK)
		return nil
	case "BucketOwnerPreferred", "ObjectWriter":
		return s3err.New(s3err.NotImplemented, "Buckets are always BucketOwnerEnforced: access is governed by policies, not ACLs.")
	}
	return s3err.New(s3err.MalformedXML, "")
}
