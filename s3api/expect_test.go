package s3api

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// An S3 client that sends Expect: 100-continue waits for the gateway's
// go-ahead before it sends the body. A request refused before its body is
// read (here: a bad signature) must be answered at once, without the
// gateway asking for the body: neither a "100 Continue" nor a wait for
// the client's timeout, whatever wraps the body (metrics, admission).
func TestExpectContinueRefusalComesBeforeTheBody(t *testing.T) {
	_, _, _, addr := limitedGateway(t, Limits{})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC()
	head := strings.Join([]string{
		"PUT /bkt/big HTTP/1.1",
		"Host: " + addr,
		"Content-Length: " + fmt.Sprint(64<<20),
		"Expect: 100-continue",
		"x-amz-date: " + now.Format("20060102T150405Z"),
		"x-amz-content-sha256: UNSIGNED-PAYLOAD",
		"Authorization: AWS4-HMAC-SHA256 Credential=AK/" + now.Format("20060102") + "/us-east-1/s3/aws4_request, " +
			"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + strings.Repeat("0", 64),
		"", "",
	}, "\r\n")
	start := time.Now()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no reply within 3 s without the body: %v", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 403") {
		t.Fatalf("first line %q, want a 403 before any body byte", strings.TrimSpace(status))
	}
	t.Logf("refused in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(status))
}
