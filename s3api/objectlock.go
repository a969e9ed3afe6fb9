package s3api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// Object lock is not implemented yet. A request that asks for it (a
// bucket created with it, or a write carrying a retention or legal hold)
// is refused with NotImplemented rather than served without it: a backup
// tool must never believe its data is immutable when it is not.
var objectLockHeaders = []string{
	"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
}

// refuseObjectLock answers NotImplemented when h asks for object lock.
func refuseObjectLock(h http.Header) error {
	if strings.EqualFold(strings.TrimSpace(h.Get("x-amz-bucket-object-lock-enabled")), "true") {
		return s3err.New(s3err.NotImplemented, "Object lock is not implemented: a bucket cannot be created with it.")
	}
	for _, name := range objectLockHeaders {
		if h.Get(name) != "" {
			return s3err.New(s3err.NotImplemented, fmt.Sprintf("Object lock is not implemented: %s cannot be honoured.", name))
		}
	}
	return nil
}
