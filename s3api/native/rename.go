package native

import (
	"context"
	"net/http"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
)

// RenameObject is one meta command (RenameObjectCmd): the version record
// moves to the new name in the apply that checks both names' conditions,
// and the data stays where it is. Nothing is copied, and there is no
// moment at which neither name, or both, hold the object.

// renameJSON is OCI's RenameObjectDetails.
type renameJSON struct {
	SourceName            string `json:"sourceName"`
	NewName               string `json:"newName"`
	SrcObjIfMatchETag     string `json:"srcObjIfMatchETag"`
	NewObjIfMatchETag     string `json:"newObjIfMatchETag"`
	NewObjIfNoneMatchETag string `json:"newObjIfNoneMatchETag"`
}

// matchCondition is an if-match ETag as a write condition: "*" asks for
// any current version. Nil when etag is empty.
func matchCondition(etag string) *cairnpb.WriteCondition {
	switch e := model.NormalizeETag(etag); e {
	case "":
		return nil
	case "*":
		return &cairnpb.WriteCondition{IfMatchAny: true}
	default:
		return &cairnpb.WriteCondition{IfMatchEtag: e}
	}
}

// renameConditions checks a RenameObjectDetails and returns the
// conditions on the source and on the new name.
func renameConditions(in *renameJSON) (src, dst *cairnpb.WriteCondition, err error) {
	switch {
	case in.SourceName == "" || in.NewName == "":
		return nil, nil, refuse(codeMissingParameter, "sourceName and newName are required")
	case len(in.SourceName) > maxObjectName || len(in.NewName) > maxObjectName:
		return nil, nil, refuse(codeInvalidParameter, "Object names are at most %d bytes", maxObjectName)
	case in.NewObjIfMatchETag != "" && in.NewObjIfNoneMatchETag != "":
		return nil, nil, refuse(codeInvalidParameter, "newObjIfMatchETag and newObjIfNoneMatchETag cannot both be set")
	}
	src = matchCondition(in.SrcObjIfMatchETag)
	dst = matchCondition(in.NewObjIfMatchETag)
	if c := noneMatchCondition(in.NewObjIfNoneMatchETag); c != nil {
		dst = c
	}
	return src, dst, nil
}

// noneMatchCondition is an if-none-match ETag as a write condition: "*"
// asks for no current version. Nil when etag is empty.
func noneMatchCondition(etag string) *cairnpb.WriteCondition {
	switch e := model.NormalizeETag(etag); e {
	case "":
		return nil
	case "*":
		return &cairnpb.WriteCondition{IfNoneMatch: true}
	default:
		return &cairnpb.WriteCondition{IfNoneMatchEtag: e}
	}
}

func (s *Server) renameObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in renameJSON
	if err := readJSON(body, &in); err != nil {
		return err
	}
	srcCond, dstCond, err := renameConditions(&in)
	if err != nil {
		return err
	}
	b, err := s.index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if b.GetVersioning() != "" {
		return refuse(codeNotImplemented, "Renaming objects in a bucket that has had versioning is not implemented")
	}
	if err := s.index.RenameObject(ctx, req.ns, req.bucket, in.SourceName, in.NewName, srcCond, dstCond); err != nil {
		return err
	}
	// The renamed version, for its ETag. The rename is done: a failed
	// read (or a write that replaced the version since) only leaves the
	// ETag out of the answer.
	if v, err := s.index.GetObject(ctx, req.ns, req.bucket, in.NewName); err == nil {
		w.Header().Set("ETag", v.GetEtag())
		w.Header().Set("Last-Modified", time.Unix(0, v.GetModifiedUnixNano()).UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
