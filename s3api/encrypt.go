package s3api

import (
	"net/http"

	"github.com/cairn-store/cairn/s3api/sse"
)

// SSE-C in the S3 front end: handlers parse the headers with
// sse.CustomerKeyFromHeaders (and sse.SourceKeyFromCopyHeaders for copy
// sources), check the key against the record with model.CheckCustomerKey
// or model.CheckUploadKey, and echo it with setEncryptionHeaders.
// Server.dispatch refuses SSE-C on insecure connections before any
// handler runs. Sealing and opening data is the object model's
// (s3api/model/encrypt.go).

// setEncryptionHeaders tells the client how data is encrypted: the SSE-C
// algorithm and key MD5 when it sent a key, else x-amz-server-side-encryption
// AES256 (data under the master key), as S3 answers for SSE-S3.
func setEncryptionHeaders(h http.Header, ck *sse.CustomerKey) {
	if ck != nil {
		sse.SetResponseHeaders(h, ck)
		return
	}
	h.Set(sse.HeaderServerSide, "AES256")
}
