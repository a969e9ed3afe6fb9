package s3api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestResponseOverrides(t *testing.T) {
	cl, _, _, url := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("body"),
		ContentType: aws.String("text/plain"), CacheControl: aws.String("no-cache"), ContentLanguage: aws.String("en")}); err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		ResponseContentType: aws.String("application/json"), ResponseContentDisposition: aws.String(`attachment; filename="a b.json"`),
		ResponseCacheControl: aws.String("max-age=5"), ResponseContentEncoding: aws.String("identity"),
		ResponseContentLanguage: aws.String("fr"), ResponseExpires: &expires})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if aws.ToString(out.ContentType) != "application/json" || aws.ToString(out.ContentDisposition) != `attachment; filename="a b.json"` ||
		aws.ToString(out.CacheControl) != "max-age=5" || aws.ToString(out.ContentEncoding) != "identity" ||
		aws.ToString(out.ContentLanguage) != "fr" || aws.ToString(out.ExpiresString) != expires.Format("Mon, 02 Jan 2006 15:04:05 GMT") {
		t.Fatalf("overrides not applied: %v %v %v %v %v %v", aws.ToString(out.ContentType), aws.ToString(out.ContentDisposition),
			aws.ToString(out.CacheControl), aws.ToString(out.ContentEncoding), aws.ToString(out.ContentLanguage), aws.ToString(out.ExpiresString))
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), ResponseContentType: aws.String("image/png")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "image/png" || aws.ToString(head.CacheControl) != "no-cache" {
		t.Fatalf("head: %v %v", aws.ToString(head.ContentType), aws.ToString(head.CacheControl))
	}
	// Without overrides the stored headers come back; the object itself
	// never changed.
	st, h, _ := surfDo(t, url, "GET", "/bkt/k", nil, nil)
	if st != 200 || h.Get("Content-Type") != "text/plain" || h.Get("Content-Language") != "en" || h.Get("Content-Disposition") != "" {
		t.Fatalf("%d %v", st, h)
	}
}
