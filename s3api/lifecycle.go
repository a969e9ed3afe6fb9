package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// Bucket lifecycle as S3 does it: PutBucketLifecycleConfiguration's
// document is checked here, with S3's error codes, and handed to meta as
// typed rules (meta's lifecycle job carries them out) together with the
// document Get answers. Transitions are NotImplemented: Cairn has one
// storage class, so there is nowhere to move an object to. The gateway
// also announces, in x-amz-expiration on GET, HEAD and PUT, when the
// current version will expire, from the bucket record every request's
// checks read (bucketconf.go; docs/lifecycle.md).

// DefaultLifecycleDay is the length of a lifecycle rule's day.
const DefaultLifecycleDay = 24 * time.Hour

// Bounds S3 sets on a configuration.
const (
	maxLifecycleRules  = 1000
	maxLifecycleRuleID = 255
	maxNewerNoncurrent = 100
)

var (
	noSuchLifecycle = s3err.Code{Name: "NoSuchLifecycleConfiguration", Status: http.StatusNotFound,
		Message: "The lifecycle configuration does not exist"}
	lifecycleTransitions = s3err.Code{Name: "NotImplemented", Status: http.StatusNotImplemented,
		Message: "Transitions are not implemented: Cairn has one storage class."}
)

type lifecycleConfiguration struct {
	XMLName xml.Name           `xml:"LifecycleConfiguration"`
	XMLNS   string             `xml:"xmlns,attr,omitempty"`
	Rules   []lifecycleRuleXML `xml:"Rule"`
}

type lifecycleTagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type lifecycleAndXML struct {
	Prefix                *string           `xml:"Prefix"`
	Tags                  []lifecycleTagXML `xml:"Tag"`
	ObjectSizeGreaterThan *int64            `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64            `xml:"ObjectSizeLessThan"`
}

type lifecycleFilterXML struct {
	Prefix                *string          `xml:"Prefix"`
	Tag                   *lifecycleTagXML `xml:"Tag"`
	ObjectSizeGreaterThan *int64           `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64           `xml:"ObjectSizeLessThan"`
	And                   *lifecycleAndXML `xml:"And"`
}

type lifecycleExpirationXML struct {
	Date                      *string `xml:"Date"`
	Days                      *int32  `xml:"Days"`
	ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker"`
}

type lifecycleNoncurrentXML struct {
	NoncurrentDays          *int32 `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int32 `xml:"NewerNoncurrentVersions"`
}

type lifecycleAbortXML struct {
	DaysAfterInitiation *int32 `xml:"DaysAfterInitiation"`
}

type lifecycleRuleXML struct {
	ID                             string                  `xml:"ID,omitempty"`
	Filter                         *lifecycleFilterXML     `xml:"Filter"`
	Prefix                         *string                 `xml:"Prefix"`
	Status                         string                  `xml:"Status"`
	Expiration                     *lifecycleExpirationXML `xml:"Expiration"`
	NoncurrentVersionExpiration    *lifecycleNoncurrentXML `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *lifecycleAbortXML      `xml:"AbortIncompleteMultipartUpload"`
	Transitions                    []struct{}              `xml:"Transition"`
	NoncurrentVersionTransitions   []struct{}              `xml:"NoncurrentVersionTransition"`
}

func lifecycleArg(format string, args ...any) error {
	return s3err.New(s3err.InvalidArgument, fmt.Sprintf(format, args...))
}

func lifecycleMalformed(format string, args ...any) error {
	return s3err.New(s3err.MalformedXML, fmt.Sprintf(format, args...))
}

// parseLifecycleFilter reads a rule's Filter (or its legacy Prefix) into
// the filter meta applies; hasTags says whether it selects by tag.
func parseLifecycleFilter(r *lifecycleRuleXML) (*cairnpb.LifecycleFilter, error) {
	out := &cairnpb.LifecycleFilter{}
	switch {
	case r.Filter != nil && r.Prefix != nil:
		return nil, lifecycleMalformed("A rule has both a Filter and a Prefix.")
	case r.Filter == nil && r.Prefix == nil:
		return nil, lifecycleMalformed("A rule needs a Filter or a Prefix.")
	case r.Prefix != nil:
		out.Prefix = *r.Prefix
		return out, nil
	}
	f := r.Filter
	given := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if set {
			given++
		}
	}
	if given > 1 {
		return nil, lifecycleMalformed("A Filter holds one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan and And; use And to combine them.")
	}
	prefix, tags, gt, lt := f.Prefix, []lifecycleTagXML(nil), f.ObjectSizeGreaterThan, f.ObjectSizeLessThan
	if f.Tag != nil {
		tags = []lifecycleTagXML{*f.Tag}
	}
	if a := f.And; a != nil {
		prefix, tags, gt, lt = a.Prefix, a.Tags, a.ObjectSizeGreaterThan, a.ObjectSizeLessThan
	}
	if prefix != nil {
		out.Prefix = *prefix
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, s3err.New(s3err.InvalidTag, "A lifecycle filter's tag has an empty or too long key or value.")
		}
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		if _, dup := out.Tags[t.Key]; dup {
			return nil, lifecycleArg("Duplicate Tag Keys are not allowed.")
		}
		out.Tags[t.Key] = t.Value
	}
	if gt != nil {
		if *gt < 0 {
			return nil, lifecycleArg("ObjectSizeGreaterThan must be a non-negative integer.")
		}
		out.SizeGreaterThan = *gt
	}
	if lt != nil {
		if *lt <= 0 {
			return nil, lifecycleArg("ObjectSizeLessThan must be a positive integer.")
		}
		out.SizeLessThan = *lt
	}
	if gt != nil && lt != nil && *gt >= *lt {
		return nil, lifecycleArg("ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
	}
	return out, nil
}

// parseLifecycle checks a PutBucketLifecycleConfiguration document as S3
// does and returns it for meta.
func parseLifecycle(body []byte) (*cairnpb.BucketLifecycle, error) {
	var doc lifecycleConfiguration
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, s3err.Wrap(s3err.MalformedXML, err)
	}
	if n := len(doc.Rules); n == 0 || n > maxLifecycleRules {
		return nil, lifecycleMalformed("A lifecycle configuration holds 1 to %d rules, not %d.", maxLifecycleRules, n)
	}
	out := &cairnpb.BucketLifecycle{}
	ids := map[string]bool{}
	for i := range doc.Rules {
		r := &doc.Rules[i]
		if len(r.ID) > maxLifecycleRuleID {
			return nil, lifecycleArg("ID length should not exceed allowed limit of %d", maxLifecycleRuleID)
		}
		if r.ID == "" {
			r.ID = fmt.Sprintf("rule-%d", i+1)
		}
		if ids[r.ID] {
			return nil, lifecycleArg("Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[r.ID] = true
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return nil, lifecycleMalformed("Status is Enabled or Disabled, not %q.", r.Status)
		}
		if len(r.Transitions) > 0 || len(r.NoncurrentVersionTransitions) > 0 {
			return nil, s3err.New(lifecycleTransitions, "")
		}
		filter, err := parseLifecycleFilter(r)
		if err != nil {
			return nil, err
		}
		rule := &cairnpb.LifecycleRule{Id: r.ID, Filter: filter}
		actions := 0
		if e := r.Expiration; e != nil {
			actions++
			given := 0
			for _, set := range []bool{e.Date != nil, e.Days != nil, e.ExpiredObjectDeleteMarker != nil} {
				if set {
					given++
				}
			}
			if given != 1 {
				return nil, lifecycleMalformed("Expiration holds one of Date, Days and ExpiredObjectDeleteMarker.")
			}
			switch {
			case e.Days != nil:
				if *e.Days <= 0 {
					return nil, lifecycleArg("'Days' for Expiration action must be a positive integer")
				}
				rule.ExpirationDays = *e.Days
			case e.Date != nil:
				d, err := time.Parse(time.RFC3339, *e.Date)
				if err != nil {
					if d, err = time.Parse("2006-01-02", *e.Date); err != nil {
						return nil, lifecycleArg("Expiration Date %q is not an ISO 8601 date", *e.Date)
					}
				}
				if d.UTC().Truncate(24*time.Hour) != d.UTC() {
					return nil, lifecycleArg("'Date' must be at midnight GMT")
				}
				rule.ExpirationDateUnixNano = d.UnixNano()
			default:
				if len(filter.GetTags()) > 0 {
					return nil, s3err.New(s3err.InvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with tags.")
				}
				rule.ExpiredObjectDeleteMarker = *e.ExpiredObjectDeleteMarker
			}
		}
		if nc := r.NoncurrentVersionExpiration; nc != nil {
			actions++
			if nc.NoncurrentDays == nil || *nc.NoncurrentDays <= 0 {
				return nil, lifecycleArg("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
			}
			rule.NoncurrentDays = *nc.NoncurrentDays
			if n := nc.NewerNoncurrentVersions; n != nil {
				if *n <= 0 || *n > maxNewerNoncurrent {
					return nil, lifecycleArg("NewerNoncurrentVersions must be between 1 and %d", maxNewerNoncurrent)
				}
				rule.NewerNoncurrentVersions = *n
			}
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			actions++
			if len(filter.GetTags()) > 0 || filter.GetSizeGreaterThan() > 0 || filter.GetSizeLessThan() > 0 {
				return nil, s3err.New(s3err.InvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with tags or object sizes.")
			}
			if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
				return nil, lifecycleArg("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
			}
			rule.AbortUploadDays = *a.DaysAfterInitiation
		}
		if actions == 0 {
			return nil, s3err.New(s3err.InvalidRequest, "At least one action needs to be specified in a rule")
		}
		if r.Status == "Enabled" {
			out.Rules = append(out.Rules, rule)
		}
	}
	doc.XMLNS = s3XMLNS
	canon, err := xml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("s3api: encode lifecycle configuration: %w", err)
	}
	out.Xml = canon
	return out, nil
}

func (s *Server) putBucketLifecycle(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readDigestedBody(r, maxXMLBody)
	if err != nil {
		return err
	}
	l, err := parseLifecycle(body)
	if err != nil {
		return err
	}
	return s.setBucketConfig(ctx, w, req, http.StatusOK, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Lifecycle{Lifecycle: l}})
}

func (s *Server) getBucketLifecycle(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if len(b.GetLifecycle().GetXml()) == 0 {
		return s3err.New(noSuchLifecycle, "")
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append([]byte(xml.Header), b.GetLifecycle().GetXml()...))
	return err
}

func (s *Server) deleteBucketLifecycle(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Lifecycle{Lifecycle: &cairnpb.BucketLifecycle{}}, Remove: true})
}

// setExpirationHeader sets x-amz-expiration for v, the current version,
// when a rule expires it: the earliest date of the rules whose filter it
// passes, and that rule's ID. A failed lookup of the rules sets nothing.
func (s *Server) setExpirationHeader(ctx context.Context, h http.Header, req *request, v *cairnpb.ObjectVersion) {
	if v.GetDeleteMarker() {
		return
	}
	b, err := s.confs.get(ctx, req.ns, req.bucket)
	rules := b.GetLifecycle().GetRules()
	if err != nil || len(rules) == 0 {
		return
	}
	modified := v.GetModifiedUnixNano()
	if modified == 0 {
		modified = s.now().UnixNano()
	}
	var best time.Time
	var id string
	for _, r := range rules {
		var at time.Time
		switch {
		case r.GetExpirationDays() > 0:
			at = cairnpb.LifecycleExpiry(modified, r.GetExpirationDays(), s.cfg.LifecycleDay)
		case r.GetExpirationDateUnixNano() > 0:
			at = time.Unix(0, r.GetExpirationDateUnixNano()).UTC()
		default:
			continue
		}
		if r.GetFilter().Matches(v) && (best.IsZero() || at.Before(best)) {
			best, id = at, r.GetId()
		}
	}
	if !best.IsZero() {
		h.Set("x-amz-expiration", fmt.Sprintf(`expiry-date="%s", rule-id="%s"`, best.Format(http.TimeFormat), id))
	}
}
