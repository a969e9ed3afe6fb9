package s3api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sigv2"
	"github.com/cairn-store/cairn/s3api/sigv4"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Config configures a gateway.
type Config struct {
	// Region is the region this deployment serves.
	Region string
	// Namespace is the namespace requests act in (one tenant for now).
	Namespace string
	// Credentials maps access key IDs to secret keys.
	Credentials map[string]string
	// Index and Shards reach the meta group and the data nodes.
	Index  Index
	Shards Shards
	// DataShards, ParityShards and BlockSize are the erasure scheme for new
	// objects (default 4+2 with 256 KiB blocks).
	DataShards, ParityShards, BlockSize int
	// InlineThreshold: objects up to this size live in the version record
	// (default 32 KiB; negative disables inlining).
	InlineThreshold int64
	// MaxObjectSize bounds a single PUT (default 5 GiB, as S3).
	MaxObjectSize int64
	// Domains enable virtual-hosted-style requests: a Host of
	// <bucket>.<domain>[:port] names the bucket, and the whole path is the
	// key. Path-style requests are served whatever the Host.
	Domains []string
	// MasterKey wraps the data key of every object not sealed with a
	// customer key (required: data is always encrypted at rest).
	MasterKey *sse.MasterKey
	// SSECTransport says which connections may carry SSE-C keys: TLS only,
	// unless AllowInsecure or a trusted proxy vouches for HTTPS.
	SSECTransport sse.Transport
	// Limits bound the requests and body bytes in flight and how long a
	// body may stall; zero fields take LimitsFor(DefaultMemoryLimit).
	Limits Limits
	// Metrics, when set, counts shed requests and unreadable objects (the
	// request metrics come from Metrics.Wrap).
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Defaults for Config fields left zero.
const (
	DefaultDataShards      = 4
	DefaultParityShards    = 2
	DefaultBlockSize       = 256 << 10
	DefaultInlineThreshold = 32 << 10
	DefaultMaxObjectSize   = 5 << 30
	maxKeyLength           = 1024
	maxUserMetadata        = 2 << 10
)

// Server is the S3 HTTP handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	verify  *sigv4.Verifier
	verify2 *sigv2.Verifier
	objects *objectStore
	hostID  string
	creds   *keyring
	admit   *admission
	reports *unreadableReporter
}

// New validates cfg and builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Index == nil || cfg.Shards == nil {
		return nil, errors.New("s3api: Index and Shards are required")
	}
	if cfg.MasterKey == nil {
		return nil, errors.New("s3api: a master key is required (data is always encrypted at rest)")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.DataShards == 0 {
		cfg.DataShards, cfg.ParityShards = DefaultDataShards, DefaultParityShards
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = DefaultBlockSize
	}
	if cfg.InlineThreshold == 0 {
		cfg.InlineThreshold = DefaultInlineThreshold
	}
	if cfg.MaxObjectSize == 0 {
		cfg.MaxObjectSize = DefaultMaxObjectSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := erasure.New(cfg.DataShards, cfg.ParityShards, cfg.BlockSize); err != nil {
		return nil, fmt.Errorf("s3api: erasure scheme: %w", err)
	}
	domains, err := normalizeDomains(cfg.Domains)
	if err != nil {
		return nil, err
	}
	cfg.Domains = domains
	def := LimitsFor(DefaultMemoryLimit)
	if cfg.Limits.MaxRequests <= 0 {
		cfg.Limits.MaxRequests = def.MaxRequests
	}
	if cfg.Limits.MaxBodyBytes <= 0 {
		cfg.Limits.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.Limits.BodyIdleTimeout == 0 {
		cfg.Limits.BodyIdleTimeout = def.BodyIdleTimeout
	}
	// What one streaming body keeps in memory while it is read: Encode's
	// two stripe buffers.
	streamCharge := int64(2 * (cfg.DataShards + cfg.ParityShards) * cfg.BlockSize)
	var host [8]byte
	_, _ = rand.Read(host[:])
	return &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		verify:  &sigv4.Verifier{Region: cfg.Region, Service: "s3", Now: cfg.Now, MaxSkew: 15 * time.Minute},
		verify2: &sigv2.Verifier{Now: cfg.Now, MaxSkew: 15 * time.Minute},
		objects: &objectStore{
			index: cfg.Index, shards: cfg.Shards,
			k: cfg.DataShards, m: cfg.ParityShards, block: cfg.BlockSize,
			inline: cfg.InlineThreshold, now: cfg.Now, master: cfg.MasterKey,
			coders: map[[3]int]*erasure.Coder{},
		},
		hostID:  hex.EncodeToString(host[:]),
		creds:   newKeyring(cfg.Credentials, cfg.Namespace, cfg.Index, cfg.Now),
		admit:   newAdmission(cfg.Limits, streamCharge, cfg.Metrics.countShed),
		reports: newUnreadableReporter(cfg.Index, cfg.Logger),
	}, nil
}

// request is one parsed S3 request.
type request struct {
	id     string
	bucket string
	key    string
	ns     string
	// virtual: the bucket came from the Host (virtual-hosted style).
	virtual bool
	// hostNS is the namespace the Host names (<ns>.compat.objectstorage.
	// <region>.<domain>), if it names one; who is the authenticated
	// principal (see authorize.go).
	hostNS string
	who    *principal
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP authenticates, routes and serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	req := &request{id: newRequestID(), ns: s.cfg.Namespace}
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", s.hostID)
	w.Header().Set("Server", "Cairn")

	req.bucket, req.key, req.virtual = s.target(r)
	// Past the gateway's limits a request is refused before any work and
	// before its body is read; the connection is closed, as the unread body
	// is still on it.
	t, err := s.admit.enter(r.Context(), w, r)
	if err != nil {
		w.Header().Set("Connection", "close")
		s.fail(w, r, req, err)
		return
	}
	defer t.leave()

	s.namespaceHost(r, req)
	err = checkEncoding(r, req)
	if err == nil {
		err = s.authenticate(r.Context(), r, req)
	}
	if err == nil {
		err = s.authorize(r.Context(), r, req)
	}
	if err == nil {
		err = s.route(r.Context(), w, r, req)
	}
	if err != nil {
		if t.body != nil && t.body.failed() {
			// The body stalled or broke off: what is left of it is never
			// read, so the connection cannot carry another request.
			w.Header().Set("Connection", "close")
		}
		s.fail(w, r, req, err)
	}
	s.log.Debug("s3", "method", r.Method, "path", r.URL.Path, "took", s.now().Sub(start), "err", err)
}

// splitPath splits a path-style URL path into bucket and key.
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}

func (s *Server) authenticate(ctx context.Context, r *http.Request, req *request) error {
	if sigv2.Applies(r) {
		hostBucket := ""
		if req.virtual {
			hostBucket = req.bucket
		}
		_, err := s.verify2.Verify(ctx, r, hostBucket, func(ctx context.Context, access string) (string, error) {
			return s.secretFor(ctx, access, req, sigv2.ErrInvalidAccessKeyID)
		})
		return err
	}
	_, err := s.verify.Verify(ctx, r, func(ctx context.Context, access string) (string, error) {
		return s.secretFor(ctx, access, req, sigv4.ErrUnknownAccessKey)
	})
	return err
}

// secretFor looks up access (static credentials, then users' keys in meta)
// and makes the request act in the key's namespace. An unknown or inactive
// key wraps unknown, the signature scheme's sentinel.
func (s *Server) secretFor(ctx context.Context, access string, req *request, unknown error) (string, error) {
	secret, who, err := s.creds.lookupPrincipal(ctx, access)
	if errors.Is(err, errUnknownKey) {
		return "", fmt.Errorf("%w: %w", unknown, err)
	}
	if err != nil {
		return "", err
	}
	req.ns, req.who = who.ns, who
	return secret, nil
}

// route dispatches on bucket/key/method and the subresource, answering
// NotImplemented for every subresource Cairn does not serve yet rather than
// treating it as a plain object or bucket request.
func (s *Server) route(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := r.URL.Query()
	if _, ok := q["delete"]; ok && (r.Method != http.MethodPost || req.bucket == "" || req.key != "") {
		return s3err.New(s3err.MethodNotAllowed, "")
	}
	if sub := unsupportedSubresource(q); sub != "" {
		return s3err.New(s3err.NotImplemented, fmt.Sprintf("The %q subresource is not implemented.", sub))
	}
	if handled, err := s.routeTagging(ctx, w, r, req); handled {
		return err
	}
	if handled, err := s.routeVersioning(ctx, w, r, req); handled {
		return err
	}
	if err := s.cfg.SSECTransport.Check(r); err != nil {
		return err
	}
	if handled, err := s.routeMultipart(ctx, w, r, req); handled {
		return err
	}
	switch {
	case req.bucket == "":
		if r.Method == http.MethodGet {
			return s.listBuckets(ctx, w, req)
		}
	case req.key == "":
		switch r.Method {
		case http.MethodPost:
			return s.postBucket(ctx, w, r, req)
		case http.MethodPut:
			return s.createBucket(ctx, w, r, req)
		case http.MethodHead:
			return s.headBucket(ctx, w, req)
		case http.MethodDelete:
			return s.deleteBucket(ctx, w, req)
		case http.MethodGet:
			if _, ok := q["location"]; ok {
				return s.getBucketLocation(ctx, w, req)
			}
			if q.Get("list-type") == "2" {
				return s.listObjectsV2(ctx, w, r, req)
			}
			return s.listObjectsV1(ctx, w, r, req)
		}
	default:
		switch r.Method {
		case http.MethodPut:
			return s.putObject(ctx, w, r, req)
		case http.MethodGet:
			return s.getObject(ctx, w, r, req, true)
		case http.MethodHead:
			return s.getObject(ctx, w, r, req, false)
		case http.MethodDelete:
			return s.deleteObject(ctx, w, r, req)
		}
	}
	return s3err.New(s3err.MethodNotAllowed, "")
}

// subresources Cairn does not implement yet; each answers 501.
var unsupported = []string{
	"acl", "accelerate", "analytics", "cors", "encryption", "intelligent-tiering",
	"inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification",
	"object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
	"replication", "requestPayment", "restore", "retention", "select",
	"torrent", "website", "attributes",
}

func unsupportedSubresource(q map[string][]string) string {
	for _, name := range unsupported {
		if _, ok := q[name]; ok {
			return name
		}
	}
	return ""
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	s.noteUnreadable(req, err)
	e := toS3Error(err)
	if e.Bucket == "" {
		e.Bucket = req.bucket
	}
	if e.Key == "" {
		e.Key = req.key
	}
	if e.Code.Status >= 500 && !errors.Is(err, ErrSlowDown) { // shedding is the gateway working, not failing
		s.log.Error("s3 request failed", "id", req.id, "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("s3 request refused", "id", req.id, "code", e.Code.Name, "err", err)
	}
	s3err.Write(w, r, e, req.id, s.hostID)
}

// noteUnreadable counts err if it is a read that could not get enough
// shards, and tells meta which version it was.
func (s *Server) noteUnreadable(req *request, err error) {
	s.reports.note(req.ns, req.bucket, err)
	switch {
	case errors.Is(err, ErrObjectUnreadable):
		s.cfg.Metrics.countUnreadable("lost")
	case errors.Is(err, erasure.ErrTooManyFailures):
		s.cfg.Metrics.countUnreadable("unreachable")
	}
}
