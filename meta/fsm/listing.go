package fsm

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

const (
	defaultMaxKeys = 1000
	maxMaxKeys     = 1000
)

// listIter is the part of *pebble.Iterator that listing uses; tests wrap it
// to count steps.
type listIter interface {
	SeekGE(key []byte) bool
	Next() bool
	Key() []byte
	ValueAndErr() ([]byte, error)
	Error() error
	Close() error
}

// ListParams is a validated ListObjects request.
type ListParams struct {
	Prefix    string
	Delimiter string
	after     string // exclusive lower bound; "" for none
	startAt   string // inclusive lower bound; "" for none
	end       string // exclusive upper bound; "" for none
	MaxKeys   int
}

// ParseListRequest validates req. start_after and the continuation token are
// both exclusive lower bounds; the later one wins.
func ParseListRequest(req *cairnpb.ListObjectsRequest) (ListParams, error) {
	p := ListParams{Prefix: req.GetPrefix(), Delimiter: req.GetDelimiter(), after: req.GetStartAfter(),
		startAt: req.GetStartAt(), end: req.GetEndBefore()}
	switch n := req.GetMaxKeys(); {
	case n < 0:
		return p, Invalid("list objects: max_keys %d is negative", n)
	case n == 0:
		p.MaxKeys = defaultMaxKeys
	case n > maxMaxKeys:
		p.MaxKeys = maxMaxKeys
	default:
		p.MaxKeys = int(n)
	}
	if tok := req.GetContinuationToken(); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) == 0 {
			return p, Invalid("list objects: malformed continuation token")
		}
		if s := string(raw); s > p.after {
			p.after = s
		}
	}
	return p, nil
}

// encodeToken makes the opaque continuation token for the last key or common
// prefix returned.
func encodeToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

// ListObjects lists the keys of one bucket as p describes.
func ListObjects(r pebble.Reader, bucketID []byte, p ListParams) (*cairnpb.ListObjectsResponse, error) {
	lower := append(ObjectPrefix(bucketID), p.Prefix...)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: PrefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("meta: list objects: %w", err)
	}
	return listObjectsIter(it, bucketID, p)
}

// commonPrefix returns the common prefix key rolls up into under p, or ""
// when key has no delimiter after the prefix (or no delimiter is set).
func (p ListParams) commonPrefix(key string) string {
	if p.Delimiter == "" || !strings.HasPrefix(key, p.Prefix) {
		return ""
	}
	idx := strings.Index(key[len(p.Prefix):], p.Delimiter)
	if idx < 0 {
		return ""
	}
	return key[:len(p.Prefix)+idx+len(p.Delimiter)]
}

// startKey returns where the scan begins: the first key after p.after, or
// past the whole group when p.after is itself a common prefix (a
// continuation token naming the last common prefix returned), or at
// p.startAt when that is later.
func (p ListParams) startKey(base []byte) []byte {
	from := p.afterKey(base)
	if p.startAt == "" || from == nil {
		return from
	}
	if at := append(append([]byte(nil), base...), p.startAt...); string(at) > string(from) {
		return at
	}
	return from
}

// afterKey is startKey for p.after alone.
func (p ListParams) afterKey(base []byte) []byte {
	lower := append(append([]byte(nil), base...), p.Prefix...)
	if p.after == "" || p.after < p.Prefix {
		return lower
	}
	var from []byte
	if cp := p.commonPrefix(p.after); cp != "" && cp == p.after {
		from = PrefixEnd(append(append([]byte(nil), base...), cp...))
		if from == nil {
			return nil
		}
	} else {
		from = append(append(append([]byte(nil), base...), p.after...), 0)
	}
	if string(from) < string(lower) {
		return lower
	}
	return from
}

// listObjectsIter runs the listing over it, which must be bounded to the
// keys of bucketID that start with p.prefix. Each common prefix costs one
// SeekGE past all its keys, never a walk over them. it is closed on return.
func listObjectsIter(it listIter, bucketID []byte, p ListParams) (resp *cairnpb.ListObjectsResponse, err error) {
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("meta: list objects: %w", cerr)
		}
	}()
	base := ObjectPrefix(bucketID)
	resp = &cairnpb.ListObjectsResponse{}
	start := p.startKey(base)
	if start == nil {
		return resp, nil
	}
	count := 0
	last := ""
	for valid := it.SeekGE(start); valid; {
		key := string(it.Key()[len(base):])
		if p.end != "" && key >= p.end {
			break
		}
		if cp := p.commonPrefix(key); cp != "" {
			if count == p.MaxKeys {
				resp.IsTruncated = true
				break
			}
			resp.CommonPrefixes = append(resp.CommonPrefixes, cp)
			count++
			last = cp
			end := PrefixEnd(append(append([]byte(nil), base...), cp...))
			if end == nil {
				break
			}
			valid = it.SeekGE(end)
			continue
		}
		if count == p.MaxKeys {
			resp.IsTruncated = true
			break
		}
		value, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("meta: list objects: %w", err)
		}
		v := &cairnpb.ObjectVersion{}
		if err := proto.Unmarshal(value, v); err != nil {
			return nil, fmt.Errorf("meta: list objects: decode %q: %w", key, err)
		}
		resp.Objects = append(resp.Objects, &cairnpb.ObjectSummary{
			Key:              key,
			Size:             v.GetSize(),
			Etag:             v.GetEtag(),
			ModifiedUnixNano: v.GetModifiedUnixNano(),
		})
		count++
		last = key
		valid = it.Next()
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("meta: list objects: %w", err)
	}
	if resp.IsTruncated {
		resp.NextContinuationToken = encodeToken(last)
	}
	return resp, nil
}
