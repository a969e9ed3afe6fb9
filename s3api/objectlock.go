package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// Object lock (WORM) at the S3 edge: parsing the lock headers and the
// four lock subresources, and rendering locks. Every rule about what a
// lock forbids is meta's (meta/lock.go), checked in the Raft apply of the
// command that would break it; the gateway only asks and renders. See
// docs/object-lock.md.

// ObjectLockIndex is what object lock needs from the meta group.
type ObjectLockIndex interface {
	// SetVersionLock changes one version's retention and/or legal hold and
	// returns the S3 ID of the version changed.
	SetVersionLock(ctx context.Context, req *cairnpb.SetVersionLockRequest) (string, error)
}

// Object lock modes and legal hold statuses, as S3 spells them.
const (
	lockGovernance = "GOVERNANCE"
	lockCompliance = "COMPLIANCE"
	legalHoldOn    = "ON"
	legalHoldOff   = "OFF"
)

func validLockMode(m string) bool { return m == lockGovernance || m == lockCompliance }

// parseLockDate parses a retain-until date: ISO 8601 / RFC 3339, with or
// without fractional seconds.
func parseLockDate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, s3err.New(s3err.InvalidArgument, "The retain until date must be provided in ISO 8601 format")
	}
	return t, nil
}

// lockFromHeaders parses the x-amz-object-lock-* headers of a write
// (PutObject, CopyObject, CreateMultipartUpload); nil when none is sent.
// The retain-until date must be in the future of now.
func lockFromHeaders(h http.Header, now time.Time) (*cairnpb.ObjectLock, error) {
	mode := h.Get("x-amz-object-lock-mode")
	until := h.Get("x-amz-object-lock-retain-until-date")
	hold := h.Get("x-amz-object-lock-legal-hold")
	if mode == "" && until == "" && hold == "" {
		return nil, nil
	}
	l := &cairnpb.ObjectLock{}
	if (mode == "") != (until == "") {
		return nil, s3err.New(s3err.InvalidArgument, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	if mode != "" {
		if !validLockMode(mode) {
			return nil, s3err.New(s3err.InvalidArgument, "Unknown wormMode directive.")
		}
		t, err := parseLockDate(until)
		if err != nil {
			return nil, err
		}
		if !t.After(now) {
			return nil, s3err.New(s3err.InvalidArgument, "The retain until date must be in the future!")
		}
		l.Mode, l.RetainUntilUnixNano = mode, t.UnixNano()
	}
	switch hold {
	case "":
	case legalHoldOff:
		l.LegalHoldSet = true
	case legalHoldOn:
		l.LegalHold, l.LegalHoldSet = true, true
	default:
		return nil, s3err.New(s3err.InvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'")
	}
	return l, nil
}

// requireLockBucket refuses a request that sets object lock on a bucket
// without it, before any data moves (meta refuses it again, atomically).
func (s *Server) requireLockBucket(ctx context.Context, req *request) error {
	bk, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if !bk.GetObjectLockEnabled() {
		return s3err.New(s3err.BucketMissingObjectLock, "")
	}
	return nil
}

// writeLock parses the lock a write asks for (in its headers, or a
// browser form's fields) and checks its bucket has object lock. digestSent says whether the request carries a Content-MD5
// or an x-amz-checksum (nil for writes without a body, which need none):
// S3 requires one on a PUT that sets object lock, or that the bucket's
// default retention will lock. Finding out the latter takes the bucket
// record, paid only by PUTs without a digest (current SDKs send a CRC),
// from the gateway's bucket cache (bucketConfs): a meta read per bucket
// every two seconds, not one per PUT. The lock itself is meta's to apply.
func (s *Server) writeLock(ctx context.Context, h http.Header, req *request, digestSent *bool) (*cairnpb.ObjectLock, error) {
	l, err := lockFromHeaders(h, s.now())
	if err != nil {
		return nil, err
	}
	needDigest := digestSent != nil && !*digestSent
	if l == nil {
		if !needDigest {
			return nil, nil
		}
		bk, err := s.confs.get(ctx, req.ns, req.bucket)
		if err != nil {
			return nil, err
		}
		if bk.GetDefaultRetention() != nil {
			return nil, s3err.New(s3err.ObjectLockNeedsDigest, "")
		}
		return nil, nil
	}
	if needDigest {
		return nil, s3err.New(s3err.ObjectLockNeedsDigest, "")
	}
	return l, s.requireLockBucket(ctx, req)
}

// setLockHeaders sets the lock headers of GET and HEAD.
func setLockHeaders(h http.Header, l *cairnpb.ObjectLock) {
	if l.GetMode() != "" {
		h.Set("x-amz-object-lock-mode", l.GetMode())
		h.Set("x-amz-object-lock-retain-until-date", s3Time(l.GetRetainUntilUnixNano()))
	}
	if l.GetLegalHold() {
		h.Set("x-amz-object-lock-legal-hold", legalHoldOn)
	}
}

type objectLockConfiguration struct {
	XMLName           xml.Name        `xml:"ObjectLockConfiguration"`
	XMLNS             string          `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string          `xml:"ObjectLockEnabled,omitempty"`
	Rule              *objectLockRule `xml:"Rule,omitempty"`
}

type objectLockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention"`
}

type defaultRetention struct {
	Mode  string `xml:"Mode"`
	Days  *int32 `xml:"Days,omitempty"`
	Years *int32 `xml:"Years,omitempty"`
}

func (s *Server) putObjectLockConfiguration(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	var in objectLockConfiguration
	if err := readDigestedXML(r, &in); err != nil {
		return err
	}
	if in.ObjectLockEnabled != "Enabled" {
		return s3err.New(s3err.MalformedXML, "")
	}
	var def *cairnpb.DefaultRetention
	if in.Rule != nil {
		d := in.Rule.DefaultRetention
		if d == nil || !validLockMode(d.Mode) || (d.Days == nil) == (d.Years == nil) {
			return s3err.New(s3err.MalformedXML, "")
		}
		def = &cairnpb.DefaultRetention{Mode: d.Mode}
		switch {
		case d.Days != nil && *d.Days > 0 && *d.Days <= 36500:
			def.Days = *d.Days
		case d.Years != nil && *d.Years > 0 && *d.Years <= 100:
			def.Years = *d.Years
		default:
			return s3err.New(s3err.InvalidArgument, "Default retention period must be a positive integer value")
		}
	}
	return s.setBucketConfig(ctx, w, req, http.StatusOK, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_ObjectLock{
		ObjectLock: &cairnpb.ObjectLockConfig{DefaultRetention: def}}})
}

func (s *Server) getObjectLockConfiguration(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	bk, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if !bk.GetObjectLockEnabled() {
		return s3err.New(s3err.ObjectLockConfigurationMissing, "")
	}
	out := objectLockConfiguration{XMLNS: s3XMLNS, ObjectLockEnabled: "Enabled"}
	if d := bk.GetDefaultRetention(); d != nil {
		dr := &defaultRetention{Mode: d.GetMode()}
		if d.GetYears() > 0 {
			dr.Years = &d.Years
		} else {
			dr.Days = &d.Days
		}
		out.Rule = &objectLockRule{DefaultRetention: dr}
	}
	return writeXML(w, out)
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	XMLNS           string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	XMLNS   string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

func (s *Server) putObjectRetention(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	versionID, _, err := req.version()
	if err != nil {
		return err
	}
	var in retentionXML
	if err := readDigestedXML(r, &in); err != nil {
		return err
	}
	ret := &cairnpb.Retention{}
	switch {
	case in.Mode == "" && in.RetainUntilDate == "":
		// Removes the retention (a GOVERNANCE one, with bypass).
	case !validLockMode(in.Mode) || in.RetainUntilDate == "":
		return s3err.New(s3err.MalformedXML, "")
	default:
		t, err := parseLockDate(in.RetainUntilDate)
		if err != nil {
			return err
		}
		if !t.After(s.now()) {
			return s3err.New(s3err.InvalidArgument, "The retain until date must be in the future!")
		}
		ret.Mode, ret.RetainUntilUnixNano = in.Mode, t.UnixNano()
	}
	return s.setVersionLock(ctx, w, req, &cairnpb.SetVersionLockRequest{
		Namespace: req.ns, Bucket: req.bucket, Key: req.key, VersionId: versionID,
		Retention: ret, BypassGovernance: req.bypassGovernance,
	})
}

func (s *Server) putObjectLegalHold(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	versionID, _, err := req.version()
	if err != nil {
		return err
	}
	var in legalHoldXML
	if err := readDigestedXML(r, &in); err != nil {
		return err
	}
	if in.Status != legalHoldOn && in.Status != legalHoldOff {
		return s3err.New(s3err.MalformedXML, "")
	}
	on := in.Status == legalHoldOn
	return s.setVersionLock(ctx, w, req, &cairnpb.SetVersionLockRequest{
		Namespace: req.ns, Bucket: req.bucket, Key: req.key, VersionId: versionID, LegalHold: &on,
	})
}

// setVersionLock sends a lock change to meta and answers it.
func (s *Server) setVersionLock(ctx context.Context, w http.ResponseWriter, req *request, lr *cairnpb.SetVersionLockRequest) error {
	vid, err := s.cfg.Index.SetVersionLock(ctx, lr)
	if err != nil {
		return err
	}
	if vid != "" && vid != nullVersion {
		w.Header().Set("x-amz-version-id", vid)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// lockedVersion returns the version a Get...Lock request names, in a
// bucket that must have object lock.
func (s *Server) lockedVersion(ctx context.Context, req *request) (*cairnpb.ObjectVersion, error) {
	versionID, named, err := req.version()
	if err != nil {
		return nil, err
	}
	if err := s.requireLockBucket(ctx, req); err != nil {
		return nil, err
	}
	return s.objectFor(ctx, req, versionID, named)
}

func (s *Server) getObjectRetention(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	v, err := s.lockedVersion(ctx, req)
	if err != nil {
		return err
	}
	l := v.GetLock()
	if l.GetMode() == "" {
		return s3err.New(s3err.NoSuchObjectLockConfiguration, "")
	}
	return writeXML(w, retentionXML{XMLNS: s3XMLNS, Mode: l.GetMode(),
		RetainUntilDate: s3Time(l.GetRetainUntilUnixNano())})
}

func (s *Server) getObjectLegalHold(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	v, err := s.lockedVersion(ctx, req)
	if err != nil {
		return err
	}
	l := v.GetLock()
	if !l.GetLegalHold() && !l.GetLegalHoldSet() {
		return s3err.New(s3err.NoSuchObjectLockConfiguration, "")
	}
	status := legalHoldOff
	if l.GetLegalHold() {
		status = legalHoldOn
	}
	return writeXML(w, legalHoldXML{XMLNS: s3XMLNS, Status: status})
}
