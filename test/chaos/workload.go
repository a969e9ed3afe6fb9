package chaos

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// Workload runs clients against one bucket and records what they do.
type Workload struct {
	S3      *s3.Client
	Bucket  string
	Keys    []string
	History *History
	// Sizes are the body sizes puts choose from; they should cover inline
	// and erasure-coded objects.
	Sizes []int
	// OpTimeout bounds one operation.
	OpTimeout time.Duration
	// Pause is the mean pause between a client's operations.
	Pause time.Duration
}

// NewS3Client returns an S3 client for endpoint that never retries: every
// attempt is one recorded operation.
func NewS3Client(endpoint, region, access, secret string) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(access, secret, "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryMaxAttempts(1),
		config.WithLogger(logging.Nop{}),
		config.WithClientLogMode(0),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) { d.Timeout = 2 * time.Second })),
	)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	}), nil
}

// Run starts n clients and returns a function that stops them and waits.
func (w *Workload) Run(n int, seed int64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewSource(seed + int64(i)))
		wg.Go(func() { w.client(ctx, i, rng) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

func (w *Workload) client(ctx context.Context, id int, rng *rand.Rand) {
	for seq := 0; ctx.Err() == nil; seq++ {
		key := w.Keys[rng.Intn(len(w.Keys))]
		switch p := rng.Intn(100); {
		case p < 40:
			body := w.body(id, seq, key, rng)
			w.Put(id, key, body)
		case p < 75:
			w.Get(id, key)
		case p < 87:
			w.Delete(id, key)
		default:
			w.List(id)
		}
		d := time.Duration(rng.Int63n(int64(2*w.Pause) + 1))
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// body makes a unique body: it names its writer, and is padded with
// pseudo-random bytes to one of the sizes.
func (w *Workload) body(client, seq int, key string, rng *rand.Rand) []byte {
	size := w.Sizes[rng.Intn(len(w.Sizes))]
	head := fmt.Sprintf("%s/client-%d/op-%d/%d\n", key, client, seq, rng.Int63())
	b := make([]byte, max(size, len(head)))
	copy(b, head)
	rng.Read(b[len(head):])
	return b
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// classify sorts a failed write: Failed when it certainly never reached
// the gateway or was refused with a client error, else Ambiguous.
func classify(err error) Outcome {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return Failed
	}
	var dnsErr *net.OpError
	if errors.As(err, &dnsErr) && dnsErr.Op == "dial" {
		return Failed
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 && re.HTTPStatusCode() != http.StatusRequestTimeout {
		return Failed
	}
	return Ambiguous
}

func errString(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i < 80 {
		return s[i+2:]
	}
	return s
}

// Put writes body to key and records it.
func (w *Workload) Put(client int, key string, body []byte) Op {
	op := Op{Client: client, Kind: Put, Key: key, Value: md5Hex(body), Call: w.History.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), w.OpTimeout)
	_, err := w.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	cancel()
	op.Return = w.History.Now()
	if err != nil {
		op.Outcome, op.Err = classify(err), errString(err)
	}
	w.History.Add(op)
	return op
}

// Get reads key and records what it found.
func (w *Workload) Get(client int, key string) Op {
	op := Op{Client: client, Kind: Get, Key: key, Call: w.History.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), w.OpTimeout)
	defer cancel()
	out, err := w.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(w.Bucket), Key: aws.String(key)})
	var body []byte
	if err == nil {
		body, err = io.ReadAll(out.Body)
		out.Body.Close()
	}
	op.Return = w.History.Now()
	var nsk *types.NoSuchKey
	switch {
	case errors.As(err, &nsk):
	case err != nil:
		op.Outcome, op.Err = Failed, errString(err)
	default:
		op.Found, op.Value = true, md5Hex(body)
		if !bytes.HasPrefix(body, []byte(key+"/")) {
			// Bytes of another key (or none at all): recorded under a value
			// nobody wrote, so Check reports it.
			op.Value = "foreign:" + op.Value
		}
	}
	w.History.Add(op)
	return op
}

// Delete deletes key and records it.
func (w *Workload) Delete(client int, key string) Op {
	op := Op{Client: client, Kind: Delete, Key: key, Call: w.History.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), w.OpTimeout)
	_, err := w.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(w.Bucket), Key: aws.String(key)})
	cancel()
	op.Return = w.History.Now()
	if err != nil {
		op.Outcome, op.Err = classify(err), errString(err)
	}
	w.History.Add(op)
	return op
}

// List lists the bucket and records the keys and ETags it returned.
func (w *Workload) List(client int) Op {
	op := Op{Client: client, Kind: List, Call: w.History.Now(), Listed: map[string]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), w.OpTimeout)
	out, err := w.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(w.Bucket)})
	cancel()
	op.Return = w.History.Now()
	if err != nil {
		op.Outcome, op.Err = Failed, errString(err)
	} else {
		for _, o := range out.Contents {
			op.Listed[aws.ToString(o.Key)] = strings.Trim(aws.ToString(o.ETag), `"`)
		}
		if aws.ToBool(out.IsTruncated) {
			op.Outcome, op.Err = Failed, "truncated listing"
		}
	}
	w.History.Add(op)
	return op
}

// FinalReads reads every key as client, once the faults are over,
// retrying failed reads for up to within, so the history ends with a read
// of each key.
func (w *Workload) FinalReads(client int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, k := range w.Keys {
		for {
			op := w.Get(client, k)
			if op.Outcome == OK {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("final read of %s still failing: %s", k, op.Err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}
