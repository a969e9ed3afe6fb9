package native

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestUnsupportedUpdate: UpdateBucket fields that ask for what Cairn does
// not have are NotImplemented, the same values the bucket has pass, and a
// namespace other than the request's is invalid.
func TestUnsupportedUpdate(t *testing.T) {
	req := &request{ns: "ns", bucket: "bk", who: &principal{ns: "ns", tenancyOCID: "ocid1.tenancy.oc1..t",
		compartments: []*cairnpb.Compartment{{Name: "c1", Ocid: "ocid1.compartment.oc1..x"}}}}
	b := &cairnpb.Bucket{Namespace: "ns", Name: "bk"}
	cases := map[string]*Code{
		`{}`: nil,
		`{"metadata":{"a":"1"},"versioning":"Enabled"}`:                                                             nil,
		`{"name":"bk","namespace":"ns","compartmentId":"ocid1.tenancy.oc1..t","publicAccessType":"NoPublicAccess"}`: nil,
		`{"objectEventsEnabled":false,"autoTiering":"Disabled","kmsKeyId":"","bucketScope":"Region"}`:               nil,
		`{"namespace":"other"}`:                         &codeInvalidParameter,
		`{"compartmentId":"ocid1.compartment.oc1..x"}`:  &codeNotImplemented,
		`{"compartmentId":"c1"}`:                        &codeNotImplemented,
		`{"compartmentId":"ocid1.compartment.oc1..no"}`: &codeNotImplemented,
		`{"name":"renamed"}`:                            &codeNotImplemented,
		`{"publicAccessType":"ObjectRead"}`:             &codeNotImplemented,
		`{"objectEventsEnabled":true}`:                  &codeNotImplemented,
		`{"definedTags":{"ns":{"k":"v"}}}`:              &codeNotImplemented,
		`{"kmsKeyId":"ocid1.key.oc1..k"}`:               &codeNotImplemented,
		`{"isBucketKeyEnabled":true}`:                   &codeNotImplemented,
		`{"autoTiering":"InfrequentAccess"}`:            &codeNotImplemented,
		`{"bucketScope":"Namespace"}`:                   &codeNotImplemented,
	}
	for body, want := range cases {
		var in updateBucketJSON
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		err := (&Server{}).unsupportedUpdate(context.Background(), req, &in, b)
		var e *Error
		switch {
		case want == nil && err != nil:
			t.Errorf("%s: %v", body, err)
		case want != nil && (!errors.As(err, &e) || e.Code != *want):
			t.Errorf("%s: %v, want %s", body, err, want.Name)
		}
	}
}
