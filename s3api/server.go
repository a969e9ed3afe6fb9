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

	"github.com/cairn-store/cairn/s3api/model"
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
	Shards model.Shards
	// DataShards, ParityShards and BlockSize are the erasure scheme for new
	// objects (default 4+2 with 256 KiB blocks).
	DataShards, ParityShards, BlockSize int
	// WriteQuorum is how many shards of an object must be durable before
	// a write is acknowledged: DataShards+1 by default (the data survives
	// one more loss right after the ack), at least DataShards, at most
	// DataShards+ParityShards. With fewer healthy hosts than shards,
	// writes go on, degraded, as long as the quorum can be placed
	// (docs/durability.md).
	WriteQuorum int
	// InlineThreshold: objects up to this size live in the version record
	// (default 32 KiB; negative disables inlining).
	InlineThreshold int64
	// MaxObjectSize bounds a single PUT (default 5 GiB, as S3).
	MaxObjectSize int64
	// Domains enable virtual-hosted-style requests: a Host of
	// <bucket>.<domain>[:port] names the bucket, and the whole path is the
	// key. Path-style requests are served whatever the Host.
	Domains []string
	// LifecycleDay is the length of a lifecycle rule's day in
	// x-amz-expiration; tests shorten it, as they do meta's (default
	// DefaultLifecycleDay).
	LifecycleDay time.Duration
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
	objects *model.Store
	hostID  string
	creds   *keyring
	admit   *admission
	// ops is opTable: every request is routed, authorized and counted by
	// its operation's row.
	ops [opCount]opRow
	// confs caches the bucket records every request's checks read.
	confs *bucketConfs
}

// Objects is the object model the server reads and writes through, for
// the gateway's other front end (s3api/native) to share.
func (s *Server) Objects() *model.Store { return s.objects }

// Admitted wraps h, another front end on this gateway's listener, in the
// same admission as S3 requests: one bound on requests and body bytes in
// flight, and the same body idle timeout (its reads then fail with
// ErrRequestTimeout). A request past the limits is handed to refused,
// which answers in h's own format, and the connection is closed.
func (s *Server) Admitted(h http.Handler, refused func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.admit.enter(r.Context(), w, r)
		if err != nil {
			w.Header().Set("Connection", "close")
			refused(w, r, err)
			return
		}
		defer t.leave()
		if t.body != nil {
			r = withBody(r, t.body)
		}
		h.ServeHTTP(w, r)
	})
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
	if cfg.LifecycleDay <= 0 {
		cfg.LifecycleDay = DefaultLifecycleDay
	}
	if cfg.WriteQuorum == 0 {
		cfg.WriteQuorum = min(cfg.DataShards+1, cfg.DataShards+cfg.ParityShards)
	}
	objects, err := model.New(model.Config{
		Index: cfg.Index, Shards: cfg.Shards,
		DataShards: cfg.DataShards, ParityShards: cfg.ParityShards, BlockSize: cfg.BlockSize,
		WriteQuorum: cfg.WriteQuorum, InlineThreshold: cfg.InlineThreshold,
		MasterKey: cfg.MasterKey, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("s3api: %w", err)
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
	var host [8]byte
	_, _ = rand.Read(host[:])
	return &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		verify:  &sigv4.Verifier{Region: cfg.Region, Service: "s3", Now: cfg.Now, MaxSkew: 15 * time.Minute},
		verify2: &sigv2.Verifier{Now: cfg.Now, MaxSkew: 15 * time.Minute},
		objects: objects,
		hostID:  hex.EncodeToString(host[:]),
		creds:   newKeyring(cfg.Credentials, cfg.Namespace, cfg.Index, cfg.Now),
		admit:   newAdmission(cfg.Limits, objects.StreamCharge(), cfg.Metrics.countShed),
		ops:     opTable(),
		confs:   newBucketConfs(cfg.Index, cfg.Now),
	}, nil
}

// request is one S3 request being served: the operation it asks for
// (parsed before anything else) and who asks (see authorize.go).
type request struct {
	operation
	id  string
	ns  string
	who *principal
	// http is the HTTP request, for the condition keys of bucket
	// policies (its address, transport and headers).
	http *http.Request
	// bypassGovernance: the request may bypass GOVERNANCE retention
	// (authorize sets it; see access.bypass).
	bypassGovernance bool
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP parses, authenticates, authorizes and serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, s.parse(r))
}

// serve serves r, which asks for o (Metrics.Wrap parses it first to
// label the request).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, o operation) {
	start := s.now()
	req := &request{operation: o, id: newRequestID(), ns: s.cfg.Namespace}
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", s.hostID)
	w.Header().Set("Server", "Cairn")

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
	if t.body != nil {
		r = withBody(r, t.body)
	}
	req.http = r

	err = checkEncoding(r, req)
	if err == nil {
		s.corsHeaders(r.Context(), w, r, req)
	}
	anonymous := s.ops[req.op].access.rule == accessByHandler
	if err == nil && !anonymous {
		err = s.authenticate(r.Context(), r, req)
		if errors.Is(err, sigv4.ErrMissingAuth) {
			// Unsigned: served only if the bucket's policy allows it
			// (authorize), in the namespace the host names.
			req.ns, err = s.corsNamespace(req), nil
		}
	}
	if err == nil && !anonymous {
		err = s.authorize(r.Context(), req)
	}
	if err == nil {
		err = s.dispatch(r.Context(), w, r, req)
		if err != nil {
			err = s.hideMissingKey(r.Context(), req, err)
		}
	}
	if err != nil {
		if t.body != nil && t.body.failed() {
			// The body stalled or broke off: what is left of it is never
			// read, so the connection cannot carry another request.
			w.Header().Set("Connection", "close")
		}
		s.fail(w, r, req, err)
	}
	s.log.Debug("s3", "op", s.ops[req.op].label, "method", r.Method, "path", r.URL.Path, "took", s.now().Sub(start), "err", err)
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

// dispatch runs the operation's handler. A request carrying an SSE-C key
// over a transport that may not carry one is refused first, whatever the
// operation, unless the operation is refused anyway (405, 501).
func (s *Server) dispatch(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	row := &s.ops[req.op]
	if row.access.rule != accessRefused {
		if err := s.cfg.SSECTransport.Check(r); err != nil {
			return err
		}
	}
	if changesBucket(r, req) {
		// Forgotten before and after: a request that reads the record
		// while this one runs must not keep the old one for long.
		s.confs.forget(req.ns, req.bucket)
		defer s.confs.forget(req.ns, req.bucket)
	}
	return row.serve(s, ctx, w, r, req)
}

// methodNotAllowed serves OpOther: no S3 operation has the request's
// method and target.
func (s *Server) methodNotAllowed(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s3err.New(s3err.MethodNotAllowed, "")
}

// notImplemented serves the operations of subresources Cairn does not
// implement, rather than letting them pass for plain object or bucket
// requests.
func (s *Server) notImplemented(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s3err.New(s3err.NotImplemented, fmt.Sprintf("The %q subresource is not implemented.", req.sub))
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
	// Shedding (503 SlowDown) and a subresource Cairn does not implement
	// (501, which tools such as s3cmd probe for on every `info`) are the
	// gateway working as designed, not failing.
	if e.Code.Status >= 500 && e.Code.Status != http.StatusNotImplemented && !errors.Is(err, ErrSlowDown) {
		s.log.Error("s3 request failed", "id", req.id, "op", s.ops[req.op].label, "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("s3 request refused", "id", req.id, "op", s.ops[req.op].label, "code", e.Code.Name, "err", err)
	}
	s3err.Write(w, r, e, req.id, s.hostID)
}

// noteUnreadable counts err if it is a read that could not get enough
// shards, and tells meta which version it was.
func (s *Server) noteUnreadable(req *request, err error) {
	s.objects.NoteUnreadable(req.ns, req.bucket, err)
	switch {
	case errors.Is(err, model.ErrObjectUnreadable):
		s.cfg.Metrics.countUnreadable("lost")
	case errors.Is(err, model.ErrTooManyFailures):
		s.cfg.Metrics.countUnreadable("unreachable")
	}
}
