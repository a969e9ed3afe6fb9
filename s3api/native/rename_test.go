package native

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func TestRenameConditions(t *testing.T) {
	cases := []struct {
		body     string
		src, dst *cairnpb.WriteCondition
		code     Code
	}{
		{body: `{"sourceName":"a","newName":"b"}`},
		{body: `{"sourceName":"a","newName":"b","srcObjIfMatchETag":"\"ABC\"","newObjIfNoneMatchETag":"*"}`,
			src: &cairnpb.WriteCondition{IfMatchEtag: "abc"}, dst: &cairnpb.WriteCondition{IfNoneMatch: true}},
		{body: `{"sourceName":"a","newName":"b","newObjIfMatchETag":"*"}`, dst: &cairnpb.WriteCondition{IfMatchAny: true}},
		{body: `{"sourceName":"a","newName":"b","newObjIfMatchETag":"e1"}`, dst: &cairnpb.WriteCondition{IfMatchEtag: "e1"}},
		{body: `{"sourceName":"a","newName":"b","newObjIfNoneMatchETag":"e2"}`, dst: &cairnpb.WriteCondition{IfNoneMatchEtag: "e2"}},
		{body: `{"newName":"b"}`, code: codeMissingParameter},
		{body: `{"sourceName":"a"}`, code: codeMissingParameter},
		{body: `{"sourceName":"a","newName":"b","newObjIfMatchETag":"e","newObjIfNoneMatchETag":"*"}`, code: codeInvalidParameter},
	}
	for _, tc := range cases {
		var in renameJSON
		if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
			t.Fatal(err)
		}
		src, dst, err := renameConditions(&in)
		if tc.code != (Code{}) {
			if toError(err).Code != tc.code {
				t.Errorf("%s: %v, want %s", tc.body, err, tc.code.Name)
			}
			continue
		}
		if err != nil || !proto.Equal(src, tc.src) || !proto.Equal(dst, tc.dst) {
			t.Errorf("%s: %v %v %v; want %v %v", tc.body, src, dst, err, tc.src, tc.dst)
		}
	}
}
