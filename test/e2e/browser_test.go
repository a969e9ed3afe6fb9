package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// chromium is Debian's Chromium, which `make test` installs (make
// browser): in CI its absence fails the test, elsewhere it skips it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium, though `make test` installs it (make browser)")
	}
	t.Skip("no chromium (outside CI): run `make browser`")
	return ""
}

// pageServer serves one page from an origin other than the gateway's
// (another loopback address): a script's output shows in #out.
type pageServer struct {
	origin string
	script chan string // the next page's script, taken by one GET
}

func startPageServer(t *testing.T) *pageServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &pageServer{origin: "http://" + l.Addr().String(), script: make(chan string, 1)}
	page := template.Must(template.New("page").Parse(`<!doctype html><html><body><pre id="out">pending</pre><script>
const out = (s) => { document.getElementById("out").textContent = s; };
(async () => { {{.}} })().catch(e => out("error: " + e));
</script></body></html>`))
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		select {
		case js := <-ps.script:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = page.Execute(w, template.JS(js))
		default:
			http.Error(w, "no page queued", http.StatusNotFound)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return ps
}

// run loads a page running script (the body of an async function) in
// headless Chromium and returns what it wrote into #out once its network
// went quiet.
func (ps *pageServer) run(t *testing.T, chrome, script string) string {
	t.Helper()
	ps.script <- script
	cmd := exec.Command(chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=20000", "--dump-dom", ps.origin+"/")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("chromium's page has no output: %s", dom)
	}
	return strings.TrimSpace(html.UnescapeString(string(m[1])))
}

// TestBrowserCorsAndPostForm: a page from another origin, in a real
// browser, writes with a presigned PUT and reads with fetch() only once
// the bucket's CORS rules allow its origin; and it uploads a file with a
// form boto3's generate_presigned_post built, while an expired form is
// refused and stores nothing.
func TestBrowserCorsAndPostForm(t *testing.T) {
	chrome := chromium(t)
	py := requireBoto3(t)
	c := startCluster(t, harness.Options{})
	cl := client(c)
	ctx := ctxT(t, 3*time.Minute)
	mustCreateBucket(t, cl, "site")
	pc := s3.NewPresignClient(cl)
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("from-browser.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("from-browser.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	putThenGet := fmt.Sprintf(`
const p = await fetch(%q, {method: "PUT", body: "written by a page"});
if (!p.ok) { out("put: " + p.status); return; }
const g = await fetch(%q);
out("read: " + await g.text());`, put.URL, get.URL)

	// No CORS rules: the browser blocks the page's requests.
	ps := startPageServer(t)
	if got := ps.run(t, chrome, putThenGet); !strings.Contains(got, "Failed to fetch") {
		t.Fatalf("without CORS rules the page got %q", got)
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("from-browser.txt")}); err == nil {
		t.Fatal("a PUT the browser should have blocked stored the object")
	}
	if _, err := cl.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("site"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{ps.origin}, AllowedMethods: []string{"GET", "PUT", "POST"}, AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := ps.run(t, chrome, putThenGet); got != "read: written by a page" {
		t.Fatalf("with CORS rules the page got %q", got)
	}
	mustGetEqual(t, cl, "site", "from-browser.txt", []byte("written by a page"))

	// A browser form built by boto3, posted by the page; and an expired one.
	forms := runBoto3(t, py, c, `
import json, os
import boto3
from botocore.config import Config
s3 = boto3.client("s3", region_name=os.environ["REGION"], endpoint_url=os.environ["EP"], aws_access_key_id=os.environ["AK"],
                  aws_secret_access_key=os.environ["SK"], config=Config(s3={"addressing_style": "path"}))
def form(expires):
    return s3.generate_presigned_post("site", "forms/${filename}", Conditions=[["starts-with", "$key", "forms/"], ["content-length-range", 1, 1024]], ExpiresIn=expires)
print(json.dumps({"ok": form(600), "expired": form(-60)}))
`)
	var posts map[string]struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(forms, &posts); err != nil {
		t.Fatalf("boto3 forms %q: %v", forms, err)
	}
	postScript := func(name string) string {
		f := posts[name]
		fields, _ := json.Marshal(f.Fields)
		return fmt.Sprintf(`
const fd = new FormData();
for (const [k, v] of Object.entries(%s)) fd.append(k, v);
fd.append("file", new Blob(["posted by a form"], {type: "text/plain"}), "note.txt");
const r = await fetch(%q, {method: "POST", body: fd});
out("status: " + r.status);`, fields, f.URL)
	}
	if got := ps.run(t, chrome, postScript("expired")); got != "status: 403" {
		t.Fatalf("expired form: the page got %q", got)
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("forms/note.txt")}); err == nil {
		t.Fatal("an expired form stored its file")
	}
	if got := ps.run(t, chrome, postScript("ok")); got != "status: 204" {
		t.Fatalf("form: the page got %q", got)
	}
	mustGetEqual(t, cl, "site", "forms/note.txt", []byte("posted by a form"))
}
