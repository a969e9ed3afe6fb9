package s3api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// docRoute is one row of the request-routing table in
// docs/compatibility.md.
type docRoute struct{ op, method, target, answer string }

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
		method, target, ok := strings.Cut(strings.Trim(cells[1], "`"), " ")
		if !ok {
			t.Fatalf("malformed request cell: %q", cells[1])
		}
		out = append(out, docRoute{op: cells[0], method: method, target: target, answer: cells[2]})
	}
	if len(out) < 40 {
		t.Fatalf("found only %d routing rows in docs/compatibility.md", len(out))
	}
	return out
}

// TestCompatibilityDocMatchesRouting holds docs/compatibility.md and the
// gateway to each other: every documented request gets the documented
// answer, and every subresource the router refuses is documented as 501.
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
	routes := readDocRoutes(t)
	signer := v4.NewSigner()
	emptyHash := sha256.Sum256(nil)
	documented501 := map[string]bool{}
	for _, rt := range routes {
		target := strings.NewReplacer("{bucket}", "compat-bucket", "{empty}", "compat-empty", "{new}", "compat-new", "{key}", "compat-key").Replace(rt.target)
		req, err := http.NewRequest(rt.method, url+target, nil)
		if err != nil {
			t.Fatal(err)
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
				t.Errorf("%s (%s %s): documented 501, got %d", rt.op, rt.method, rt.target, resp.StatusCode)
			}
			_, query, _ := strings.Cut(rt.target, "?")
			for _, q := range strings.Split(query, "&") {
				name, _, _ := strings.Cut(q, "=")
				documented501[name] = true
			}
		case "served":
			if resp.StatusCode == http.StatusNotImplemented || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode >= 500 {
				t.Errorf("%s (%s %s): documented as served, got %d", rt.op, rt.method, rt.target, resp.StatusCode)
			}
		default:
			t.Errorf("%s: unknown answer %q (want served or 501)", rt.op, rt.answer)
		}
	}
	for _, sub := range unsupported {
		if !documented501[sub] {
			t.Errorf("the router answers 501 for ?%s, but docs/compatibility.md does not list it", sub)
		}
	}
}
