package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestWritePARs: the table and the JSON show what a PAR reaches, how and
// until when, and mark the expired ones.
func TestWritePARs(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pars := []*cairnpb.PAR{
		{Id: "id1", Namespace: "acme", Bucket: "photos", Name: "share", ObjectName: "a.jpg", AccessType: "ObjectRead",
			BucketListingAction: "Deny", Creator: "alice", CreatedUnixNano: now.Add(-time.Hour).UnixNano(), ExpiresUnixNano: now.Add(time.Hour).UnixNano()},
		{Id: "id2", Namespace: "acme", Bucket: "photos", Name: "drop", ObjectName: "in/", AccessType: "AnyObjectWrite",
			BucketListingAction: "Deny", Creator: "bob", CreatedUnixNano: now.Add(-2 * time.Hour).UnixNano(), ExpiresUnixNano: now.Add(-time.Minute).UnixNano()},
		{Id: "id3", Namespace: "acme", Bucket: "logs", Name: "all", AccessType: "AnyObjectRead",
			BucketListingAction: "ListObjects", Creator: "alice", ExpiresUnixNano: now.Add(time.Hour).UnixNano()},
	}
	var table bytes.Buffer
	if err := writePARs(&table, "table", pars, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("table:\n%s", table.String())
	}
	for i, want := range [][]string{
		{"id1", "photos", "share", "a.jpg", "ObjectRead", "Deny", "alice", "2026-12-07T13:00:00Z"},
		{"id2", "drop", "in/*", "AnyObjectWrite", "bob", "(expired)"},
		{"id3", "logs", " * ", "ListObjects"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
	if strings.Contains(lines[1], "expired") {
		t.Errorf("a live PAR is marked expired: %q", lines[1])
	}

	var js bytes.Buffer
	if err := writePARs(&js, "json", pars, now); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || len(got) != 3 {
		t.Fatalf("json: %v\n%s", err, js.String())
	}
	if got[0]["id"] != "id1" || got[0]["object_name"] != "a.jpg" || got[0]["creator"] != "alice" || got[0]["expired"] != false || got[1]["expired"] != true {
		t.Errorf("json: %v", got)
	}
	for _, p := range got {
		for k := range p {
			if strings.Contains(k, "token") || strings.Contains(k, "uri") {
				t.Errorf("json shows %s", k)
			}
		}
	}
}
