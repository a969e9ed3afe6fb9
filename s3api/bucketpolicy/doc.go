// Package bucketpolicy is the grammar and the evaluator of S3 bucket
// policies: AWS's JSON policy language (Version, Id, Statement with Sid,
// Effect, Principal/NotPrincipal, Action/NotAction, Resource/NotResource
// and Condition), as a bucket policy uses it.
//
// It owns three decisions, each written once:
//   - what a valid document is (Parse): anything else is refused with the
//     reason, and the gateway answers MalformedPolicy;
//   - what a document says about one request (Policy.Evaluate): Deny when
//     a matching Deny statement exists, else Allow when a matching Allow
//     statement exists, else no decision;
//   - whether a document is public (Policy.Public), as S3 defines it: an
//     Allow statement is public unless its principal is fixed or it is
//     limited by a fixed-value condition (public.go).
//
// How Cairn principals are written (docs/policies.md): "*" is everyone,
// including unsigned requests; {"AWS": "arn:aws:iam::<namespace>:root"}
// (or the bare namespace name) is every principal of a namespace;
// arn:aws:iam::<namespace>:user/<user> one user and
// arn:aws:iam::<namespace>:group/<group> the members of a group. The
// gateway says which of these a request's principal is (Principal.ARNs).
//
// Invariants: the package does no I/O and keeps no state; the values of
// condition keys come from the caller through Request.Values, read only
// when a statement's condition names them. It imports no net/http.
package bucketpolicy
