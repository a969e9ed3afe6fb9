package native

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestParseCopy: CopyObjectDetails as OCI's SDKs send it, checked for a
// gateway serving us-ashburn-1 to a caller of namespace "ns".
func TestParseCopy(t *testing.T) {
	cases := []struct {
		body string
		want *copyPlan
		code Code
	}{
		{body: `{"sourceObjectName":"a","destinationRegion":"us-ashburn-1","destinationNamespace":"ns","destinationBucket":"b2","destinationObjectName":"c"}`,
			want: &copyPlan{source: "a", dstNS: "ns", dstBucket: "b2", dstObject: "c"}},
		// No region and no namespace: this region, the caller's namespace.
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c"}`,
			want: &copyPlan{source: "a", dstNS: "ns", dstBucket: "b2", dstObject: "c"}},
		{body: `{"sourceObjectName":"a","sourceVersionId":"v1","sourceObjectIfMatchETag":"\"E1\"","destinationRegion":"US-ASHBURN-1",
			"destinationNamespace":"other","destinationBucket":"b2","destinationObjectName":"c","destinationObjectIfNoneMatchETag":"*",
			"destinationObjectMetadata":{"opc-meta-Color":"red"},"destinationObjectStorageTier":"Standard"}`,
			want: &copyPlan{source: "a", versionID: "v1", srcCond: &cairnpb.WriteCondition{IfMatchEtag: "e1"},
				dstNS: "other", dstBucket: "b2", dstObject: "c", dstCond: &cairnpb.WriteCondition{IfNoneMatch: true},
				metadata: map[string]string{"color": "red"}}},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c","destinationObjectIfMatchETag":"e2","destinationObjectMetadata":{}}`,
			want: &copyPlan{source: "a", dstNS: "ns", dstBucket: "b2", dstObject: "c", dstCond: &cairnpb.WriteCondition{IfMatchEtag: "e2"}}},
		{body: `{"destinationBucket":"b2","destinationObjectName":"c"}`, code: codeMissingParameter},
		{body: `{"sourceObjectName":"a","destinationObjectName":"c"}`, code: codeMissingParameter},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2"}`, code: codeMissingParameter},
		{body: `{"sourceObjectName":"a","destinationRegion":"eu-frankfurt-1","destinationBucket":"b2","destinationObjectName":"c"}`, code: codeInvalidParameter},
		{body: `{"sourceObjectName":"a","destinationRegion":"us-east-1","destinationBucket":"b2","destinationObjectName":"c"}`, code: codeInvalidParameter},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c","destinationObjectIfNoneMatchETag":"e1"}`, code: codeInvalidParameter},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c","destinationObjectIfMatchETag":"e","destinationObjectIfNoneMatchETag":"*"}`, code: codeInvalidParameter},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c","destinationObjectMetadata":{"color":"red"}}`, code: codeInvalidParameter},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c","destinationObjectMetadata":{"opc-meta-":"red"}}`, code: codeInvalidParameter},
		{body: `{"sourceObjectName":"a","destinationBucket":"b2","destinationObjectName":"c","destinationObjectStorageTier":"Archive"}`, code: codeNotImplemented},
	}
	for _, tc := range cases {
		var in copyJSON
		if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		got, err := parseCopy(&in, "us-ashburn-1", "ns")
		if tc.code != (Code{}) {
			if err == nil || toError(err).Code != tc.code {
				t.Errorf("%s: %v, want %s", tc.body, err, tc.code.Name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if !proto.Equal(got.srcCond, tc.want.srcCond) || !proto.Equal(got.dstCond, tc.want.dstCond) ||
			fmt.Sprint(got.metadata) != fmt.Sprint(tc.want.metadata) || (got.metadata == nil) != (tc.want.metadata == nil) {
			t.Errorf("%s: conditions %v %v metadata %v; want %v %v %v", tc.body, got.srcCond, got.dstCond, got.metadata,
				tc.want.srcCond, tc.want.dstCond, tc.want.metadata)
		}
		got.srcCond, got.dstCond, got.metadata = nil, nil, nil
		tc.want.srcCond, tc.want.dstCond, tc.want.metadata = nil, nil, nil
		if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.body, *got, *tc.want)
		}
	}
	big := map[string]string{}
	for i := range 100 {
		big[fmt.Sprint("opc-meta-k", i)] = fmt.Sprintf("%040d", i)
	}
	if _, err := copyMetadata(big); toError(err).Code != codeInvalidParameter {
		t.Errorf("metadata past the bound: %v", err)
	}
}

// TestParseWorkRequest: the work request paths, which are not under
// /n/{namespace}/.
func TestParseWorkRequest(t *testing.T) {
	const id = "ocid1.objectstorageworkrequest.oc1.us-ashburn-1..abc"
	cases := []struct {
		method, path string
		op           op
		id           string
	}{
		{"GET", "/workRequests", opListWorkRequests, ""},
		{"GET", "/workRequests/?compartmentId=c", opListWorkRequests, ""},
		{"POST", "/workRequests", opUnknown, ""},
		{"GET", "/workRequests/" + id, opGetWorkRequest, id},
		{"DELETE", "/workRequests/" + id, opCancelWorkRequest, id},
		{"PUT", "/workRequests/" + id, opUnknown, id},
		{"GET", "/workRequests/" + id + "/errors", opListWorkRequestErrors, id},
		{"GET", "/workRequests/" + id + "/logs", opListWorkRequestLogs, id},
		{"DELETE", "/workRequests/" + id + "/logs", opUnknown, id},
		{"GET", "/workRequests/" + id + "/other", opUnknown, id},
		{"GET", "/workRequests/a%2Fb/errors", opListWorkRequestErrors, "a/b"},
	}
	for _, tc := range cases {
		req, err := parse(httptest.NewRequest(tc.method, "http://gw"+tc.path, nil))
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if req.op != tc.op || req.workRequestID != tc.id || req.ns != "" || req.bucket != "" {
			t.Errorf("%s %s: op %d id %q ns %q bucket %q; want %d %q", tc.method, tc.path, req.op, req.workRequestID, req.ns, req.bucket, tc.op, tc.id)
		}
	}
	// Only the exact segment: /workRequestsX is not the native API's.
	if _, err := parse(httptest.NewRequest("GET", "http://gw/workRequestsX", nil)); err == nil {
		t.Error("/workRequestsX parsed")
	}
}

// TestWorkRequestJSON: a recorded work request in OCI's shape.
func TestWorkRequestJSON(t *testing.T) {
	got := workRequestOf("ocid1.tenancy.oc1..t", &cairnpb.WorkRequest{Id: "w1", OperationType: "COPY_OBJECT", Status: "COMPLETED", Compartment: "root",
		PercentComplete: 100, AcceptedUnixNano: 1e9, StartedUnixNano: 1e9, FinishedUnixNano: 2e9,
		Resources: []*cairnpb.WorkRequestResource{{ActionType: "READ", EntityType: "object", EntityUri: "/n/ns/b/b/o/a"}}})
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"operationType":"COPY_OBJECT","status":"COMPLETED","id":"w1","compartmentId":"ocid1.tenancy.oc1..t",` +
		`"resources":[{"actionType":"READ","entityType":"object","entityUri":"/n/ns/b/b/o/a"}],"percentComplete":100,` +
		`"timeAccepted":"1970-01-01T00:00:01.000Z","timeStarted":"1970-01-01T00:00:01.000Z","timeFinished":"1970-01-01T00:00:02.000Z"}`
	if string(b) != want {
		t.Errorf("work request JSON\n%s\nwant\n%s", b, want)
	}
}
