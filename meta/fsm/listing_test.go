package fsm

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// listingKeys returns 2,500 keys: nested "/" paths, unicode, other
// delimiters, punctuation and control characters (no NUL).
func listingKeys() []string {
	var keys []string
	add := func(n int, format string) {
		for i := 0; i < n; i++ {
			keys = append(keys, fmt.Sprintf(format, i))
		}
	}
	add(800, "photos/2024/img%04d.jpg")
	add(400, "photos/2025/%03d/x.jpg")
	add(300, "docs/readme-%03d.txt")
	add(200, "ünïcödé/ファイル%03d")
	add(300, "a-b-%03d-c")
	add(200, "x::y::%03d")
	add(150, "top%04d")
	add(50, "\x01ctl\x7f%02d~ !\"#$%%&'()*+,;=@[]^`{|}")
	add(100, "photos%03d")
	slices.Sort(keys)
	return keys
}

// writeKeys stores minimal versions of keys under bucketID directly.
func writeKeys(t testing.TB, st *Store, bucketID []byte, keys []string) {
	t.Helper()
	h, err := st.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer st.release(h)
	b := h.db.NewBatch()
	for i, k := range keys {
		v, err := proto.Marshal(&cairnpb.ObjectVersion{Key: k, VersionId: "v", Size: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Set(objectKey(bucketID, k), v, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
}

// entry is one listing result: a key, or a common prefix ending in "/".
type entry struct {
	name     string
	isPrefix bool
}

// oracle lists naively: every key after `after`, rolled up by delimiter;
// a common prefix equal to `after` counts as already returned.
func oracle(keys []string, prefix, delim, after string) []entry {
	var out []entry
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if cp != after && !seen[cp] {
					seen[cp] = true
					out = append(out, entry{cp, true})
				}
				continue
			}
		}
		out = append(out, entry{k, false})
	}
	return out
}

func listAll(t *testing.T, st *Store, bucketID []byte, req *cairnpb.ListObjectsRequest) (all []entry, pages int) {
	t.Helper()
	req = proto.Clone(req).(*cairnpb.ListObjectsRequest)
	for {
		p, err := ParseListRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		var resp *cairnpb.ListObjectsResponse
		err = st.View(func(r pebble.Reader) error {
			resp, err = ListObjects(r, bucketID, p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		// Merge the page's keys and prefixes in key order.
		var page []entry
		for _, o := range resp.GetObjects() {
			page = append(page, entry{o.GetKey(), false})
		}
		for _, cp := range resp.GetCommonPrefixes() {
			page = append(page, entry{cp, true})
		}
		slices.SortFunc(page, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		if len(page) > p.MaxKeys {
			t.Fatalf("page of %d entries, max_keys %d", len(page), p.MaxKeys)
		}
		all = append(all, page...)
		if !resp.GetIsTruncated() {
			if resp.GetNextContinuationToken() != "" {
				t.Fatal("continuation token on the last page")
			}
			return all, pages
		}
		if len(page) != p.MaxKeys {
			t.Fatalf("truncated page of %d entries, max_keys %d", len(page), p.MaxKeys)
		}
		req.ContinuationToken = resp.GetNextContinuationToken()
	}
}

func TestListObjectsMatchesOracle(t *testing.T) {
	f := newTestFSM(t)
	keys := listingKeys()
	if len(keys) != 2500 {
		t.Fatalf("%d keys", len(keys))
	}
	id := fsmtest.BucketID(5)
	writeKeys(t, f.Store, id, keys)
	writeKeys(t, f.Store, fsmtest.BucketID(4), []string{"photos/other-bucket"})
	writeKeys(t, f.Store, fsmtest.BucketID(6), []string{"a", "photos/other-bucket"})

	type tc struct {
		prefix, delim, after string
		maxKeys              int32
	}
	var cases []tc
	for _, prefix := range []string{"", "photos/", "photos/2025/", "ü", "a-", "x::", "\x01", "zzz"} {
		for _, delim := range []string{"", "/", "-", "::", "ファ", "/2"} {
			for _, mk := range []int32{7, 0} {
				cases = append(cases, tc{prefix, delim, "", mk})
			}
		}
	}
	cases = append(cases,
		tc{"", "/", "", 1},
		tc{"photos/", "/", "", 1},
		tc{"", "/", "photos/", 3},             // start after a common prefix: the group is skipped
		tc{"", "/", "photos/2024/img0100", 5}, // inside a group: the group appears again
		tc{"", "", "photos/2024/img0799.jpg", 1000},
		tc{"photos/", "/", "a", 2},   // start_after before the prefix
		tc{"photos/", "/", "zzz", 2}, // start_after past everything
		tc{"", "-", "a-b-", 4},
	)
	for _, c := range cases {
		name := fmt.Sprintf("prefix=%q/delim=%q/after=%q/max=%d", c.prefix, c.delim, c.after, c.maxKeys)
		t.Run(name, func(t *testing.T) {
			got, pages := listAll(t, f.Store, id, &cairnpb.ListObjectsRequest{
				Prefix: c.prefix, Delimiter: c.delim, StartAfter: c.after, MaxKeys: c.maxKeys,
			})
			want := oracle(keys, c.prefix, c.delim, c.after)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d entries in %d pages, want %d\nfirst got:  %.5v\nfirst want: %.5v", len(got), pages, len(want), got, want)
			}
			seen := map[string]bool{}
			for i, e := range got {
				if seen[e.name] {
					t.Fatalf("%q returned twice", e.name)
				}
				seen[e.name] = true
				if i > 0 && got[i-1].name >= e.name {
					t.Fatalf("out of order: %q then %q", got[i-1].name, e.name)
				}
			}
		})
	}
}

func TestListObjectsArguments(t *testing.T) {
	if _, err := ParseListRequest(&cairnpb.ListObjectsRequest{MaxKeys: -1}); err == nil {
		t.Fatal("negative max_keys accepted")
	}
	if _, err := ParseListRequest(&cairnpb.ListObjectsRequest{ContinuationToken: "!!not base64"}); err == nil {
		t.Fatal("malformed token accepted")
	}
	p, err := ParseListRequest(&cairnpb.ListObjectsRequest{MaxKeys: 5000})
	if err != nil || p.MaxKeys != maxMaxKeys {
		t.Fatalf("max_keys 5000 -> %d, %v", p.MaxKeys, err)
	}
	// The later of start_after and the token wins, whichever it is.
	p, _ = ParseListRequest(&cairnpb.ListObjectsRequest{StartAfter: "m", ContinuationToken: encodeToken("c")})
	if p.after != "m" {
		t.Fatalf("after %q", p.after)
	}
	p, _ = ParseListRequest(&cairnpb.ListObjectsRequest{StartAfter: "c", ContinuationToken: encodeToken("m")})
	if p.after != "m" {
		t.Fatalf("after %q", p.after)
	}
}

// countingIter counts positioning calls.
type countingIter struct {
	*pebble.Iterator
	seeks, nexts int
}

func (c *countingIter) SeekGE(k []byte) bool { c.seeks++; return c.Iterator.SeekGE(k) }
func (c *countingIter) Next() bool           { c.nexts++; return c.Iterator.Next() }

// A delimiter listing skips a common prefix with one seek, whatever the
// number of keys under it.
func TestListObjectsSkipsCommonPrefixWithOneSeek(t *testing.T) {
	f := newTestFSM(t)
	id := fsmtest.BucketID(8)
	keys := []string{"a", "c", "d/x", "logs/zz/last"}
	for i := 0; i < 100_000; i++ {
		keys = append(keys, fmt.Sprintf("big/%06d", i))
	}
	writeKeys(t, f.Store, id, keys)

	list := func(p ListParams) (*cairnpb.ListObjectsResponse, *countingIter) {
		t.Helper()
		h, err := f.Store.acquire()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Store.release(h)
		lower := append(ObjectPrefix(id), p.Prefix...)
		it, err := h.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: PrefixEnd(lower)})
		if err != nil {
			t.Fatal(err)
		}
		ci := &countingIter{Iterator: it}
		resp, err := listObjectsIter(ci, id, p)
		if err != nil {
			t.Fatal(err)
		}
		return resp, ci
	}

	resp, it := list(ListParams{Delimiter: "/", MaxKeys: 1000})
	if got := fmt.Sprint(resp.GetCommonPrefixes()); got != "[big/ d/ logs/]" {
		t.Fatalf("common prefixes %s", got)
	}
	if len(resp.GetObjects()) != 2 || resp.GetIsTruncated() {
		t.Fatalf("objects %v truncated %v", resp.GetObjects(), resp.GetIsTruncated())
	}
	if steps := it.seeks + it.nexts; steps > 8 {
		t.Fatalf("%d seeks + %d nexts for a listing of 5 entries", it.seeks, it.nexts)
	}

	// Paging through the prefixes: a token naming "big/" skips it in one seek.
	resp, _ = list(ListParams{Delimiter: "/", MaxKeys: 2})
	if !resp.GetIsTruncated() || fmt.Sprint(resp.GetCommonPrefixes()) != "[big/]" {
		t.Fatalf("first page %v", resp)
	}
	p, err := ParseListRequest(&cairnpb.ListObjectsRequest{Delimiter: "/", MaxKeys: 10, ContinuationToken: resp.GetNextContinuationToken()})
	if err != nil {
		t.Fatal(err)
	}
	resp, it = list(p)
	if fmt.Sprint(resp.GetCommonPrefixes()) != "[d/ logs/]" || len(resp.GetObjects()) != 1 {
		t.Fatalf("second page %v", resp)
	}
	if steps := it.seeks + it.nexts; steps > 6 {
		t.Fatalf("%d seeks + %d nexts for the second page", it.seeks, it.nexts)
	}

	// Under prefix "big/" with delimiter "0" every key rolls into "big/0".
	resp, it = list(ListParams{Prefix: "big/", Delimiter: "0", MaxKeys: 1000})
	if fmt.Sprint(resp.GetCommonPrefixes()) != "[big/0]" || len(resp.GetObjects()) != 0 {
		t.Fatalf("big/ listing %v", resp)
	}
	if steps := it.seeks + it.nexts; steps > 3 {
		t.Fatalf("%d seeks + %d nexts to roll 100k keys into one prefix", it.seeks, it.nexts)
	}
}

// TestListStartAtEndBefore: the native API's start (inclusive) and end
// (exclusive) bounds.
func TestListStartAtEndBefore(t *testing.T) {
	f := newTestFSM(t)
	id := fsmtest.BucketID(9)
	writeKeys(t, f.Store, id, []string{"a", "b", "b/1", "b/2", "c", "d"})
	cases := []struct {
		start, end, after, delim string
		want                     string
	}{
		{start: "b", want: "b b/1 b/2 c d"},
		{start: "b", end: "c", want: "b b/1 b/2"},
		{end: "b", want: "a"},
		{start: "b", delim: "/", want: "b b/ c d"},
		{start: "b", after: "b/1", want: "b/2 c d"},
		{start: "c", after: "a", want: "c d"},
	}
	for _, tc := range cases {
		p, err := ParseListRequest(&cairnpb.ListObjectsRequest{StartAt: tc.start, EndBefore: tc.end, StartAfter: tc.after, Delimiter: tc.delim})
		if err != nil {
			t.Fatal(err)
		}
		h, err := f.Store.acquire()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ListObjects(h.db, id, p)
		f.Store.release(h)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range resp.GetObjects() {
			got = append(got, o.GetKey())
		}
		got = append(got, resp.GetCommonPrefixes()...)
		slices.Sort(got)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%+v: got %q, want %q", tc, strings.Join(got, " "), tc.want)
		}
	}
}
