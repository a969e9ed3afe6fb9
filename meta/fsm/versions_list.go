package fsm

import (
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// VersionListParams is a validated ListObjectVersions request.
type VersionListParams struct {
	ListParams        // prefix, delimiter, maxKeys; after is unused
	KeyMarker  string // resume after every version of this key...
	IDMarker   string // ...or after this version (S3 id) of keyMarker
}

// versionLister merges the object table (current versions) and the
// noncurrent table of one bucket into S3's version listing: keys in order,
// each key's versions newest first.
type versionLister struct {
	p              VersionListParams
	baseO, baseV   []byte
	itO, itV       *pebble.Iterator
	validO, validV bool
	resp           *cairnpb.ListObjectVersionsResponse
	count          int
	lastKey        string
	lastID         string
	markerPassed   bool // the version named by idMarker has gone by
}

func (l *versionLister) keyO() string { return string(l.itO.Key()[len(l.baseO):]) }

func (l *versionLister) keyV() (string, error) {
	k, ok := splitNoncurrentKey(l.itV.Key()[len(l.baseV):])
	if !ok {
		return "", fmt.Errorf("meta: list versions: malformed key %q", l.itV.Key())
	}
	return k, nil
}

func (l *versionLister) seek(objectKey string) {
	l.validO = l.itO.SeekGE(append(slices.Clone(l.baseO), objectKey...))
	l.validV = l.itV.SeekGE(append(slices.Clone(l.baseV), objectKey...))
}

func (l *versionLister) seekPast(cp string) bool {
	endO := PrefixEnd(append(slices.Clone(l.baseO), cp...))
	endV := PrefixEnd(append(slices.Clone(l.baseV), cp...))
	if endO == nil || endV == nil {
		return false
	}
	l.validO, l.validV = l.itO.SeekGE(endO), l.itV.SeekGE(endV)
	return true
}

// add lists one version unless the markers skip it. It reports false once
// the page is full and another entry was waiting.
func (l *versionLister) add(key string, v *cairnpb.ObjectVersion, latest bool) bool {
	id := S3VersionID(v)
	if key == l.p.KeyMarker && (l.p.IDMarker == "" || !l.markerPassed) {
		if id == l.p.IDMarker {
			l.markerPassed = true
		}
		return true
	}
	if l.count == l.p.MaxKeys {
		l.resp.IsTruncated = true
		return false
	}
	l.resp.Versions = append(l.resp.Versions, &cairnpb.VersionSummary{
		Key: key, VersionId: id, IsLatest: latest, DeleteMarker: v.GetDeleteMarker(),
		Size: v.GetSize(), Etag: v.GetEtag(), ModifiedUnixNano: v.GetModifiedUnixNano(),
		Checksums: v.GetChecksums(), ChecksumType: v.GetChecksumType(),
	})
	l.count++
	l.lastKey, l.lastID = key, id
	return true
}

// ListVersions lists the versions of one bucket as p describes. Each
// common prefix costs one seek per table past all its versions.
func ListVersions(r pebble.Reader, bucketID []byte, p VersionListParams) (resp *cairnpb.ListObjectVersionsResponse, err error) {
	l := &versionLister{p: p, baseO: ObjectPrefix(bucketID), baseV: noncurrentPrefix(bucketID), resp: &cairnpb.ListObjectVersionsResponse{}}
	lowerO := append(slices.Clone(l.baseO), p.Prefix...)
	lowerV := append(slices.Clone(l.baseV), p.Prefix...)
	if l.itO, err = r.NewIter(&pebble.IterOptions{LowerBound: lowerO, UpperBound: PrefixEnd(lowerO)}); err != nil {
		return nil, fmt.Errorf("meta: list versions: %w", err)
	}
	defer l.itO.Close()
	if l.itV, err = r.NewIter(&pebble.IterOptions{LowerBound: lowerV, UpperBound: PrefixEnd(lowerV)}); err != nil {
		return nil, fmt.Errorf("meta: list versions: %w", err)
	}
	defer l.itV.Close()

	switch {
	case p.KeyMarker == "" || p.KeyMarker < p.Prefix:
		l.seek(p.Prefix)
	case p.IDMarker == "" && p.commonPrefix(p.KeyMarker) == p.KeyMarker:
		if !l.seekPast(p.KeyMarker) {
			return l.resp, nil
		}
	default:
		l.seek(p.KeyMarker)
	}
	if err := l.run(); err != nil {
		return nil, err
	}
	if err := l.itO.Error(); err != nil {
		return nil, fmt.Errorf("meta: list versions: %w", err)
	}
	if err := l.itV.Error(); err != nil {
		return nil, fmt.Errorf("meta: list versions: %w", err)
	}
	if l.resp.IsTruncated {
		l.resp.NextKeyMarker, l.resp.NextVersionIdMarker = l.lastKey, l.lastID
	}
	return l.resp, nil
}

func (l *versionLister) run() error {
	for l.validO || l.validV {
		var key string
		var vKey string
		var err error
		if l.validV {
			if vKey, err = l.keyV(); err != nil {
				return err
			}
		}
		switch {
		case !l.validV:
			key = l.keyO()
		case !l.validO:
			key = vKey
		default:
			key = min(l.keyO(), vKey)
		}
		if cp := l.p.commonPrefix(key); cp != "" {
			if l.count == l.p.MaxKeys {
				l.resp.IsTruncated = true
				return nil
			}
			l.resp.CommonPrefixes = append(l.resp.CommonPrefixes, cp)
			l.count++
			l.lastKey, l.lastID = cp, ""
			if !l.seekPast(cp) {
				return nil
			}
			continue
		}
		hasCurrent := l.validO && l.keyO() == key
		if hasCurrent {
			v := &cairnpb.ObjectVersion{}
			if err := proto.Unmarshal(l.itO.Value(), v); err != nil {
				return fmt.Errorf("meta: list versions: decode %q: %w", l.itO.Key(), err)
			}
			if !l.add(key, v, true) {
				return nil
			}
			l.validO = l.itO.Next()
		}
		first := true
		for l.validV {
			if vKey, err = l.keyV(); err != nil {
				return err
			}
			if vKey != key {
				break
			}
			v := &cairnpb.ObjectVersion{}
			if err := proto.Unmarshal(l.itV.Value(), v); err != nil {
				return fmt.Errorf("meta: list versions: decode %q: %w", l.itV.Key(), err)
			}
			if !l.add(key, v, first && !hasCurrent) {
				return nil
			}
			first = false
			l.validV = l.itV.Next()
		}
	}
	return nil
}
