package model

import "github.com/cairn-store/cairn/proto/cairnpb"

// NullVersionID is the ID of a version written while its bucket had no
// versioning (S3's "null"), in both APIs.
const NullVersionID = "null"

// VersionID is the ID clients of either API know v by: its version_id
// when versioning wrote it, else NullVersionID.
func VersionID(v *cairnpb.ObjectVersion) string {
	if v.GetVersioned() {
		return v.GetVersionId()
	}
	return NullVersionID
}
