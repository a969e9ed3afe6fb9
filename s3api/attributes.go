package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// GetObjectAttributes answers the attributes x-amz-object-attributes
// names (ETag, Checksum, ObjectParts, StorageClass, ObjectSize) from the
// version record alone: no data is read. A multipart object lists its
// parts a page at a time (x-amz-max-parts, x-amz-part-number-marker);
// as S3 does for general purpose buckets, parts are listed only when the
// object carries additional checksums, and its part count always.

type objectAttributes struct {
	XMLName      xml.Name              `xml:"GetObjectAttributesResponse"`
	XMLNS        string                `xml:"xmlns,attr"`
	ETag         string                `xml:"ETag,omitempty"`
	Checksum     *attributesChecksum   `xml:"Checksum"`
	ObjectParts  *objectAttributeParts `xml:"ObjectParts"`
	StorageClass string                `xml:"StorageClass,omitempty"`
	ObjectSize   *int64                `xml:"ObjectSize"`
}

type attributesChecksum struct {
	partChecksums
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type objectAttributeParts struct {
	PartsCount           int              `xml:"PartsCount"`
	PartNumberMarker     int              `xml:"PartNumberMarker"`
	NextPartNumberMarker int              `xml:"NextPartNumberMarker,omitempty"`
	MaxParts             int              `xml:"MaxParts"`
	IsTruncated          bool             `xml:"IsTruncated"`
	Parts                []attributesPart `xml:"Part"`
}

type attributesPart struct {
	PartNumber int32 `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
	partChecksums
}

// objectAttributeNames are the attributes a request may ask for.
var objectAttributeNames = []string{"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}

func (s *Server) getObjectAttributes(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	want := map[string]bool{}
	for _, v := range r.Header.Values("x-amz-object-attributes") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			known := false
			for _, n := range objectAttributeNames {
				known = known || n == name
			}
			if !known {
				return s3err.New(s3err.InvalidArgument, "Invalid attribute name specified: "+name)
			}
			want[name] = true
		}
	}
	if len(want) == 0 {
		return s3err.New(s3err.InvalidArgument, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty.")
	}
	maxParts, err := headerInt(r.Header, "x-amz-max-parts", 1000)
	if err != nil {
		return err
	}
	marker, err := headerInt(r.Header, "x-amz-part-number-marker", 0)
	if err != nil {
		return err
	}
	v, named, _, err := s.readableVersion(ctx, r, req)
	if err != nil {
		return err
	}
	out := objectAttributes{XMLNS: s3XMLNS}
	if want["ETag"] {
		out.ETag = v.GetEtag()
	}
	if want["Checksum"] && len(v.GetChecksums()) > 0 {
		out.Checksum = &attributesChecksum{partChecksums: checksumsXML(v.GetChecksums()), ChecksumType: checksumTypeOf(v.GetChecksumType())}
	}
	if want["ObjectParts"] && len(v.GetParts()) > 0 {
		parts := v.GetParts()
		op := &objectAttributeParts{PartsCount: len(parts), PartNumberMarker: marker, MaxParts: maxParts}
		if len(parts[0].GetChecksums()) > 0 {
			for _, p := range parts {
				if int(p.GetNumber()) <= marker {
					continue
				}
				if len(op.Parts) == maxParts {
					op.IsTruncated = true
					break
				}
				op.Parts = append(op.Parts, attributesPart{PartNumber: p.GetNumber(), Size: p.GetSize(), partChecksums: checksumsXML(p.GetChecksums())})
				op.NextPartNumberMarker = int(p.GetNumber())
			}
		}
		out.ObjectParts = op
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		size := v.GetSize()
		out.ObjectSize = &size
	}
	setVersionHeader(w.Header(), v, named)
	w.Header().Set("Last-Modified", time.Unix(0, v.GetModifiedUnixNano()).UTC().Format(http.TimeFormat))
	return writeXML(w, out)
}

// headerInt reads a non-negative integer header, def when absent.
func headerInt(h http.Header, name string, def int) (int, error) {
	v := h.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.New(s3err.InvalidArgument, name+" must be a non-negative integer.")
	}
	return n, nil
}
