package s3api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// docRoute is one row of the request-routing table in
// docs/compatibility.md: the operation, the request (method, target and
// at most one header) and the documented answer.
type docRoute struct {
	op, method, target string
	header             [2]string
	answer             string
}

func readDocRoutes(t *testing.T) []docRoute {
	t.Helper()
	f, err := os.Open("../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docRoute
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Request routing"
			continue
		}
		if !in || !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| operation") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 {
			t.Fatalf("malformed routing row: %q", line)
		}
		request, header, withHeader := strings.Cut(cells[1], " + ")
		method, target, ok := strings.Cut(strings.Trim(request, "`"), " ")
		if !ok {
			t.Fatalf("malformed request cell: %q", cells[1])
		}
		rt := docRoute{op: cells[0], method: method, target: target, answer: cells[2]}
		if withHeader {
			name, value, ok := strings.Cut(strings.Trim(header, "`"), ": ")
			if !ok {
				t.Fatalf("malformed header in %q", cells[1])
			}
			rt.header = [2]string{name, value}
		}
		out = append(out, rt)
	}
	if len(out) < 90 {
		t.Fatalf("found only %d routing rows in docs/compatibility.md", len(out))
	}
	return out
}

// docOpName is the operation a row names: "GetObject (a version)" is
// GetObject.
func docOpName(cell string) string {
	name, _, _ := strings.Cut(cell, " (")
	return name
}

// TestCompatibilityDocMatchesRouting holds docs/compatibility.md and the
// gateway to each other: every documented request parses to the
// operation the row names and gets the documented answer
// (TestEveryOperationParses checks every operation has a row).
func TestCompatibilityDocMatchesRouting(t *testing.T) {
	cl, _, _, url := newTestGateway(t)
	ctx := context.Background()
	for _, b := range []string{"compat-bucket", "compat-empty"} {
		if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("compat-bucket"), Key: aws.String("compat-key"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	parser := &Server{cfg: Config{Region: "us-east-1"}}
	ops := opTable()
	signer := v4.NewSigner()
	emptyHash := sha256.Sum256(nil)
	for _, rt := range readDocRoutes(t) {
		fill := strings.NewReplacer("{bucket}", "compat-bucket", "{empty}", "compat-empty", "{new}", "compat-new", "{key}", "compat-key")
		target := fill.Replace(rt.target)
		what := rt.op + " (" + rt.method + " " + rt.target + ")"

		pr := httptest.NewRequest(rt.method, target, nil)
		if rt.header[0] != "" {
			pr.Header.Set(rt.header[0], fill.Replace(rt.header[1]))
		}
		if got := ops[parser.parse(pr).op].label; got != docOpName(rt.op) {
			t.Errorf("%s: parses to %s", what, got)
		}

		req, err := http.NewRequest(rt.method, url+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rt.header[0] != "" {
			req.Header.Set(rt.header[0], fill.Replace(rt.header[1]))
		}
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(emptyHash[:]))
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, req,
			hex.EncodeToString(emptyHash[:]), "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch rt.answer {
		case "501":
			if resp.StatusCode != http.StatusNotImplemented {
				t.Errorf("%s: documented 501, got %d", what, resp.StatusCode)
			}
		case "served":
			if resp.StatusCode == http.StatusNotImplemented || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode >= 500 {
				t.Errorf("%s: documented as served, got %d", what, resp.StatusCode)
			}
		default:
			t.Errorf("%s: unknown answer %q (want served or 501)", what, rt.answer)
		}
	}
}
