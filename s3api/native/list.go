package native

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// objectSummaryJSON is OCI's ObjectSummary: name always, the rest when
// the fields parameter asks for them.
type objectSummaryJSON struct {
	Name         string  `json:"name"`
	Size         *int64  `json:"size,omitempty"`
	ETag         string  `json:"etag,omitempty"`
	MD5          string  `json:"md5,omitempty"`
	TimeCreated  string  `json:"timeCreated,omitempty"`
	TimeModified string  `json:"timeModified,omitempty"`
	StorageTier  string  `json:"storageTier,omitempty"`
	Archival     *string `json:"archivalState,omitempty"`
}

type listObjectsJSON struct {
	Objects       []objectSummaryJSON `json:"objects"`
	Prefixes      []string            `json:"prefixes,omitempty"`
	NextStartWith string              `json:"nextStartWith,omitempty"`
}

// listFields parses the fields parameter.
func listFields(v string) (map[string]bool, error) {
	out := map[string]bool{}
	if v == "" {
		return out, nil
	}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "name", "size", "etag", "md5", "timeCreated", "timeModified", "storageTier", "archivalState":
			out[f] = true
		default:
			return nil, refuse(codeInvalidParameter, "Unknown field %q in fields", f)
		}
	}
	return out, nil
}

// listObjects serves ListObjects: names in order from start (inclusive)
// to end (exclusive), rolled up by delimiter, at most limit entries
// (objects and prefixes together), with nextStartWith naming the next
// entry when there are more.
func (s *Server) listObjects(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	q := req.query
	limit, err := limitOf(q.Get("limit"))
	if err != nil {
		return err
	}
	fields, err := listFields(q.Get("fields"))
	if err != nil {
		return err
	}
	delim := q.Get("delimiter")
	if delim != "" && delim != "/" {
		return refuse(codeInvalidParameter, "The only delimiter supported is '/'")
	}
	base := &cairnpb.ListObjectsRequest{
		Namespace: req.ns, Bucket: req.bucket, Prefix: q.Get("prefix"), Delimiter: delim,
		StartAt: q.Get("start"), StartAfter: q.Get("startAfter"), EndBefore: q.Get("end"), MaxKeys: int32(limit),
	}
	resp, err := s.index.ListObjects(ctx, base)
	if err != nil {
		return err
	}
	out := listObjectsJSON{Objects: []objectSummaryJSON{}, Prefixes: resp.GetCommonPrefixes()}
	for _, o := range resp.GetObjects() {
		out.Objects = append(out.Objects, summaryOf(o, fields))
	}
	if resp.GetIsTruncated() {
		// The next entry, which the next page starts with.
		next := &cairnpb.ListObjectsRequest{
			Namespace: req.ns, Bucket: req.bucket, Prefix: base.Prefix, Delimiter: delim, EndBefore: base.EndBefore,
			ContinuationToken: resp.GetNextContinuationToken(), MaxKeys: 1,
		}
		more, err := s.index.ListObjects(ctx, next)
		if err != nil {
			return err
		}
		names := append([]string{}, more.GetCommonPrefixes()...)
		for _, o := range more.GetObjects() {
			names = append(names, o.GetKey())
		}
		sort.Strings(names)
		if len(names) > 0 {
			out.NextStartWith = names[0]
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func summaryOf(o *cairnpb.ObjectSummary, fields map[string]bool) objectSummaryJSON {
	s := objectSummaryJSON{Name: o.GetKey()}
	if fields["size"] {
		n := o.GetSize()
		s.Size = &n
	}
	if fields["etag"] {
		s.ETag = o.GetEtag()
	}
	if fields["md5"] {
		if raw, err := hex.DecodeString(o.GetEtag()); err == nil && len(raw) == 16 {
			s.MD5 = base64.StdEncoding.EncodeToString(raw)
		}
	}
	if fields["timeCreated"] {
		s.TimeCreated = jsonTime(o.GetModifiedUnixNano())
	}
	if fields["timeModified"] {
		s.TimeModified = jsonTime(o.GetModifiedUnixNano())
	}
	if fields["storageTier"] {
		s.StorageTier = "Standard"
	}
	return s
}
