// Package policy parses and evaluates Cairn's authorization policies,
// written in the grammar of OCI IAM policy statements:
//
//	Allow group <group>[, <group>...] to <verb> <resource-type>
//	    in <compartment <name> | tenancy>
//	    [where target.bucket.name <= | !=> '<bucket>']
//
// verb is inspect, read, use or manage; resource-type is buckets, objects,
// objectstorage-namespaces, object-family (all three) or all-resources.
// Keywords are case-insensitive;
// names may be quoted with ' or ". A policy document holds statements one
// per line (or separated by ';'); blank lines and lines starting with '#'
// are ignored.
//
// Invariants:
//   - Parse is pure and deterministic: the same text gives the same
//     statements or the same *ParseError (with 1-based line and column),
//     so meta may run it inside a Raft Apply.
//   - Each verb grants a fixed set of permissions per resource type, and
//     each verb's set includes the set of every weaker verb (inspect ⊂ read
//     ⊂ use ⊂ manage).
//   - An Authorizer denies whatever no statement allows: there are no deny
//     statements, and the empty Authorizer allows nothing.
//   - "in compartment X" covers X and all of its descendants; "in tenancy"
//     (or "in compartment root") covers every compartment.
//
// The package depends on the standard library only.
package policy
