package bench

import (
	"context"
	"crypto/md5"
	cryptorand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ioBufferSize is the transport's socket buffer size and the per-worker GET
// read buffer size; larger than net/http's 4 KiB default to cut syscalls on
// big objects.
const ioBufferSize = 256 << 10

// newTransport returns an HTTP/1.1 transport sized for concurrency requests
// in flight, opening connections with dial (nil: a plain net.Dialer).
// It ignores proxy environment variables: a benchmark should talk to the
// endpoint directly.
func newTransport(concurrency int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return &http.Transport{
		DialContext:           dial,
		MaxIdleConns:          concurrency * 2,
		MaxIdleConnsPerHost:   concurrency * 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       ioBufferSize,
		ReadBufferSize:        ioBufferSize,
	}
}

// newClient builds the S3 client for cfg (already normalized). The returned
// func releases idle connections of the transport Run created, if any.
func newClient(cfg *Config) (*s3.Client, func()) {
	hc := cfg.HTTPClient
	release := func() {}
	if hc == nil {
		inflight := cfg.Concurrency
		if cfg.Multipart {
			inflight *= cfg.PartConcurrency // parts of one object go in parallel
		}
		tr := newTransport(inflight, cfg.Dial)
		hc = &http.Client{Transport: tr}
		release = tr.CloseIdleConnections
	}
	var creds aws.CredentialsProvider = aws.AnonymousCredentials{}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	}
	opts := s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		UsePathStyle: true,
		Credentials:  creds,
		HTTPClient:   hc,
		// One attempt per operation: failures must show up as errors,
		// not as retried (and slower) successes.
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		// Servers that send no checksum would otherwise log per GET.
		DisableLogOutputChecksumValidationSkipped: true,
	}
	if !cfg.Checksums {
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	return s3.New(opts), release
}

// unsignedPayload is a per-operation option switching SigV4 to
// UNSIGNED-PAYLOAD. It clips the slice so concurrent operations never
// append into a shared backing array.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(slices.Clip(o.APIOptions), v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// httpStatus returns the HTTP status code carried by an SDK error, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// ensureBucket creates cfg.Bucket unless HeadBucket finds it.
func ensureBucket(ctx context.Context, client *s3.Client, cfg *Config) error {
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)})
	if err == nil {
		return nil
	}
	if httpStatus(err) != http.StatusNotFound {
		return fmt.Errorf("bench: checking bucket %q: %w", cfg.Bucket, err)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)}
	if cfg.Region != DefaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(cfg.Region),
		}
	}
	if _, err := client.CreateBucket(ctx, in); err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("bench: creating bucket %q: %w", cfg.Bucket, err)
	}
	return nil
}

// sseCustomerKey is the SSE-C key of one run in the three header forms S3
// expects: algorithm, base64 key and base64 MD5 of the raw key.
type sseCustomerKey struct {
	algorithm, key, keyMD5 *string
}

// newSSECustomerKey returns a fresh random 256-bit AES key.
func newSSECustomerKey() (*sseCustomerKey, error) {
	raw := make([]byte, 32)
	if _, err := cryptorand.Read(raw); err != nil {
		return nil, fmt.Errorf("bench: generating SSE-C key: %w", err)
	}
	sum := md5.Sum(raw)
	return &sseCustomerKey{
		algorithm: aws.String("AES256"),
		key:       aws.String(base64.StdEncoding.EncodeToString(raw)),
		keyMD5:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}, nil
}

// applyPut sets the key on a PutObject input (the upload manager copies it
// to CreateMultipartUpload, UploadPart and CompleteMultipartUpload). A nil
// key leaves the input alone.
func (k *sseCustomerKey) applyPut(in *s3.PutObjectInput) {
	if k != nil {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = k.algorithm, k.key, k.keyMD5
	}
}

// applyGet sets the key on a GetObject input.
func (k *sseCustomerKey) applyGet(in *s3.GetObjectInput) {
	if k != nil {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = k.algorithm, k.key, k.keyMD5
	}
}

// newUploader returns the upload manager for multipart PUTs. Its checksum
// mode follows cfg.Checksums like the client's: left alone the manager adds
// CRC32 to every multipart upload.
func newUploader(client *s3.Client, cfg *Config, putOpts []func(*s3.Options)) *manager.Uploader {
	return manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = cfg.PartSize
		u.Concurrency = cfg.PartConcurrency
		u.ClientOptions = putOpts
		u.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		if cfg.Checksums {
			u.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		}
	})
}
