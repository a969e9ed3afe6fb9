package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Operation kinds accepted in Config.Op and reported in Result.Op.
const (
	OpPut   = "put"
	OpGet   = "get"
	OpMixed = "mixed"
)

// Defaults applied by Run to zero-valued Config fields.
const (
	DefaultRegion      = "us-east-1"
	DefaultPrefix      = "cairn-bench/"
	DefaultConcurrency = 1
	// DefaultPartSize and DefaultPartConcurrency apply to multipart PUTs.
	DefaultPartSize        = 16 << 20
	DefaultPartConcurrency = 4
	// MinPartSize is the smallest part size S3 accepts (except for the
	// last part of an upload).
	MinPartSize = 5 << 20
)

// Config describes one benchmark run. Zero values get the documented
// defaults; invalid combinations make Run fail before any request is sent.
type Config struct {
	// Endpoint is the S3 endpoint URL, e.g. "http://127.0.0.1:9000". A
	// missing scheme means http.
	Endpoint string
	// Region is used for request signing (default us-east-1).
	Region string
	// AccessKey and SecretKey are static credentials; if both are empty
	// requests are sent unsigned (anonymous).
	AccessKey, SecretKey string

	// Bucket is created if it does not exist. Objects go under Prefix
	// (default "cairn-bench/").
	Bucket string
	Prefix string

	// Op is "put", "get" or "mixed" (default "put"). In mixed mode each
	// operation is a GET with probability GetRatio, otherwise a PUT.
	Op       string
	GetRatio float64

	// ObjectSize is the size in bytes of every object written or read.
	ObjectSize int64
	// Concurrency is the number of parallel workers (default 1).
	Concurrency int

	// Run for Duration, or for Count operations (successful or not). If
	// both are set Count wins; one of them must be set.
	Duration time.Duration
	Count    int

	// Keys is the size of the key space. For get and mixed it defaults to
	// Concurrency and is pre-populated with PUTs (not timed) before the
	// measured phase. For put, 0 means every PUT writes a fresh key;
	// otherwise PUTs cycle over the key space.
	Keys int
	// Populated skips the pre-population of get and mixed runs: the key
	// space was written by an earlier run with the same bucket, prefix,
	// object size and Keys (a put run with Keys and Count both equal to
	// it writes each key once). It lets a caller measure the GETs alone,
	// for instance the server's CPU time, without the PUTs that fill it.
	Populated bool

	// Cleanup deletes the objects written by the run afterwards.
	Cleanup bool

	// Checksums keeps the SDK's default flexible checksums (CRC on every
	// PUT, validation on every GET). When false, checksums are only
	// computed or validated where an operation requires them, which saves
	// client CPU on small machines.
	Checksums bool
	// UnsignedPayload signs PUTs with UNSIGNED-PAYLOAD instead of hashing
	// the body with SHA-256 (which the SDK otherwise does over plain http).
	UnsignedPayload bool
	// Multipart sends every PUT through the SDK's upload manager: objects
	// larger than PartSize become a multipart upload (create, parts,
	// complete) with up to PartConcurrency parts in flight per object;
	// smaller ones are a single PutObject. Parts are read straight from the
	// generated body, so memory use does not depend on ObjectSize.
	Multipart       bool
	PartSize        int64 // default DefaultPartSize, at least MinPartSize
	PartConcurrency int   // default DefaultPartConcurrency

	// Chunked sends every PUT as a signed aws-chunked stream
	// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 64 KiB chunks, each signed),
	// built by the benchmark rather than the SDK. Not with Multipart.
	Chunked bool

	// SSEC sends a customer-provided key (SSE-C, AES256) with every object
	// PUT, multipart create and part upload, and GET. The key is random and
	// fixed for the run, so the objects cannot be read back without it.
	SSEC bool

	// Verify makes every GET compare the body byte for byte against the
	// deterministic content that was PUT for that key; a mismatch counts
	// as an error.
	Verify bool

	// Out receives progress lines; nil discards them.
	Out io.Writer
	// HTTPClient overrides the tuned client Run builds by default.
	HTTPClient *http.Client
	// Dial, when set, is how the tuned client opens connections (the
	// test network seam's dialer); nil is a plain net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// normalize returns cfg with defaults applied, or an error describing the
// first invalid field.
func (cfg Config) normalize() (Config, error) {
	if cfg.Endpoint == "" {
		return cfg, errors.New("bench: endpoint is required")
	}
	if !strings.Contains(cfg.Endpoint, "://") {
		cfg.Endpoint = "http://" + cfg.Endpoint
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Bucket == "" {
		return cfg, errors.New("bench: bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Op == "" {
		cfg.Op = OpPut
	}
	switch cfg.Op {
	case OpPut, OpGet, OpMixed:
	default:
		return cfg, fmt.Errorf("bench: unknown op %q (want put, get or mixed)", cfg.Op)
	}
	if cfg.GetRatio < 0 || cfg.GetRatio > 1 {
		return cfg, fmt.Errorf("bench: get ratio %v outside [0, 1]", cfg.GetRatio)
	}
	if cfg.ObjectSize < 0 {
		return cfg, fmt.Errorf("bench: negative object size %d", cfg.ObjectSize)
	}
	if cfg.Concurrency < 0 {
		return cfg, fmt.Errorf("bench: negative concurrency %d", cfg.Concurrency)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Count < 0 || cfg.Duration < 0 {
		return cfg, errors.New("bench: count and duration must not be negative")
	}
	if cfg.Count == 0 && cfg.Duration == 0 {
		return cfg, errors.New("bench: one of count or duration must be set")
	}
	if cfg.Count > 0 {
		cfg.Duration = 0
	}
	if cfg.Keys < 0 {
		return cfg, fmt.Errorf("bench: negative key space %d", cfg.Keys)
	}
	if cfg.Keys == 0 && cfg.Op != OpPut {
		cfg.Keys = cfg.Concurrency
	}
	if cfg.PartSize < 0 || cfg.PartConcurrency < 0 {
		return cfg, errors.New("bench: part size and part concurrency must not be negative")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartConcurrency == 0 {
		cfg.PartConcurrency = DefaultPartConcurrency
	}
	if cfg.Chunked && (cfg.Multipart || cfg.SSEC) {
		return cfg, errors.New("bench: chunked PUTs go without multipart and SSE-C")
	}
	if cfg.Multipart && cfg.PartSize < MinPartSize {
		return cfg, fmt.Errorf("bench: part size %d below the S3 minimum of %s", cfg.PartSize, formatSize(MinPartSize))
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	return cfg, nil
}

// key returns the object key for index i of the key space.
func (cfg *Config) key(i int64) string {
	return fmt.Sprintf("%s%08d", cfg.Prefix, i)
}

// modes summarizes the optional request modes for progress output, in the
// words Result.String uses.
func (cfg *Config) modes() string {
	r := Result{Checksums: cfg.Checksums, SSEC: cfg.SSEC, Multipart: cfg.Multipart,
		PartSize: cfg.PartSize, PartConcurrency: cfg.PartConcurrency}
	return fmt.Sprintf("checksums=%s multipart=%s sse-c=%s", onOff(r.Checksums), r.multipartMode(), onOff(r.SSEC))
}
