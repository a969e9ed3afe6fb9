package native

import (
	"net/http"

	"github.com/cairn-store/cairn/s3api/sse"
)

// SSE-C in the native API: PutObject, GetObject, HeadObject, CopyObject,
// CreateMultipartUpload and UploadPart (multipart.go) take OCI's
// opc-sse-customer-algorithm, opc-sse-customer-key and
// opc-sse-customer-key-sha256 (sse.CustomerKeyFromOCIHeaders), and the
// object model seals and opens the data as it does for S3's SSE-C
// headers, so either API reads with the key what the other wrote.
// Responses echo the algorithm and the key's SHA-256.

// customerKeyAllowed refuses SSE-C headers on an operation whose row does
// not take them (NotImplemented), and on a connection that may not carry
// a key (the S3 front end's rule, Config.SSECTransport).
func (s *Server) customerKeyAllowed(r *http.Request, row opRow) error {
	if row.customerKey {
		return s.cfg.SSECTransport.Check(r)
	}
	for _, name := range []string{sse.OCIHeaderAlgorithm, sse.OCIHeaderKey, sse.OCIHeaderKeySHA256,
		sse.OCIHeaderSourceAlgorithm, sse.OCIHeaderSourceKey, sse.OCIHeaderSourceKeySHA256} {
		if r.Header.Get(name) != "" {
			return refuse(codeNotImplemented, "%s does not take a customer-provided key (%s) yet", row.name, name)
		}
	}
	return nil
}
