package model_test

import (
	"testing"

	"github.com/cairn-store/cairn/s3api/model"
)

func TestETagMatches(t *testing.T) {
	const etag = "0123abcd-2"
	for _, tc := range []struct {
		list string
		want bool
	}{
		{"0123abcd-2", true},
		{`"0123abcd-2"`, true},
		{` "0123ABCD-2" `, true},
		{"*", true},
		{`"ffff", "0123abcd-2"`, true},
		{"ffff", false},
		{`"0123abcd"`, false},
		{"", false},
		{`""`, false},
		{",", false},
	} {
		if got := model.ETagMatches(tc.list, etag); got != tc.want {
			t.Errorf("ETagMatches(%q, %q) = %v, want %v", tc.list, etag, got, tc.want)
		}
	}
	if got := model.NormalizeETag(` "AbC" `); got != "abc" {
		t.Errorf("NormalizeETag: %q", got)
	}
}
