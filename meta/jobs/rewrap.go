package jobs

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/keyring"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The leader's re-wrap.
//
// While it leads, a meta node walks every wrapped key the cluster keeps:
// the envelopes of object versions and of their parts (through
// fsm.ForEachVersion), of parts of uploads in progress (p/), and the sealed
// secrets of access keys (t/key/, plaintext ones included). Each one
// wrapped by another key than the active one is unwrapped and wrapped again
// under the active key, and up to rewrapBatch of them are proposed in one
// RewrapCmd, whose apply replaces a wrapped key only where the record still
// holds the old one. Shard data is never read or written. The walk is
// throttled to Config.RewrapRate keys per second. Nothing about its
// position is replicated: a new leader simply walks again, and records
// already under the active key cost a comparison each. A pass that found
// work is followed by another at once; a pass that found none sleeps
// (rewrapSettle shortly after a rotation, when gateways may still be
// writing with the previous key, rewrapIdle later) or until a rotation
// wakes it.

const (
	rewrapBatch        = 64
	rewrapSettle       = 3 * time.Second
	rewrapSettleFor    = 2 * time.Minute
	rewrapIdle         = 5 * time.Minute
	rewrapRetry        = 30 * time.Second
	rewrapPublishRetry = time.Second
)

// rewrapProgress is what the leader's re-wrap reports. Its zero value is
// ready to use.
type rewrapProgress struct {
	wake     leaderjob.Kick // a rotation starts a pass now
	mu       sync.Mutex
	running  bool
	done     int64 // re-wrapped since this node started leading
	failed   int64 // found in the last pass and not unwrappable
	pending  int64 // under old keys when the pass began, less those done since
	passes   int64
	rate     float64
	lastPass time.Time
	lastErr  string
}

// kick starts a pass now (or after the one under way).
func (p *rewrapProgress) kick() { p.wake.Kick() }

func (p *rewrapProgress) snapshot() *cairnpb.RewrapProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := &cairnpb.RewrapProgress{
		Running: p.running, Done: p.done, Failed: p.failed, Rate: p.rate, Passes: p.passes, LastError: p.lastErr,
	}
	if !p.lastPass.IsZero() {
		out.LastPassUnixNano = p.lastPass.UnixNano()
	}
	return out
}

// RewrapStats is the leader's re-wrap progress for monitoring; zero on
// followers.
type RewrapStats struct {
	Running bool
	// Done counts keys re-wrapped since this node started leading.
	Done int64
	// Pending counts keys under old master keys still to do in the current
	// pass (as of its start, less those done since); Failed those that
	// cannot be unwrapped (a master key missing from the keyring, or
	// tampered records).
	Pending, Failed int64
	// Rate is keys re-wrapped per second over the current or last pass.
	Rate float64
}

// rewrapJob is the leader's re-wrap: a pass at once in a new term, then
// at once again after a pass that re-wrapped something, else after a
// pause chosen by the pass (rewrapSettle, rewrapRetry, rewrapIdle) or
// when a rotation kicks it. It runs only with a keyring.
type rewrapJob struct {
	s       *Set
	started time.Time     // when this term's job started
	next    time.Duration // the pause the last pass chose
}

func (j *rewrapJob) Name() string            { return NameRewrap }
func (j *rewrapJob) Interval() time.Duration { return j.next }
func (j *rewrapJob) Kicks() *leaderjob.Kick  { return &j.s.rewrap.wake }

func (j *rewrapJob) Start(context.Context) time.Duration {
	p := &j.s.rewrap
	p.mu.Lock()
	p.done, p.failed, p.pending, p.passes, p.rate, p.lastErr = 0, 0, 0, 0, 0, ""
	p.mu.Unlock()
	j.started = j.s.env.Now()
	return 0
}

func (j *rewrapJob) Round(ctx context.Context) error {
	s, p := j.s, &j.s.rewrap
	st, err := s.publishDefaultKey(ctx)
	if err != nil {
		j.next = rewrapPublishRetry
		return fmt.Errorf("meta: publish the default master key: %w", err)
	}
	done, err := s.rewrapPass(ctx, st.GetActiveKeyId())
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		p.mu.Lock()
		p.lastErr = err.Error()
		p.mu.Unlock()
		err = fmt.Errorf("meta: master key re-wrap pass: %w", err)
	}
	if done > 0 && err == nil {
		j.next = 0
		return nil
	}
	j.next = rewrapIdle
	since := time.Unix(0, st.GetSetUnixNano())
	if j.started.After(since) {
		since = j.started
	}
	switch {
	case s.env.Now().Sub(since) < rewrapSettleFor:
		j.next = rewrapSettle
	case err != nil:
		j.next = rewrapRetry
	}
	return err
}

// publishDefaultKey returns the replicated master key state, first
// committing the keyring's default key as active when none is yet.
func (s *Set) publishDefaultKey(ctx context.Context) (*cairnpb.MasterKeyState, error) {
	var st *cairnpb.MasterKeyState
	err := s.env.Store.View(func(r pebble.Reader) error {
		var err error
		st, err = fsm.GetMasterKeyState(r)
		return err
	})
	if err != nil || st.GetActiveKeyId() != "" {
		return st, err
	}
	id := s.env.Keyring.Default()
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetMasterKey{SetMasterKey: &cairnpb.SetMasterKeyCmd{KeyId: id}}}
	if err := s.env.Propose(ctx, cmd); err != nil {
		return nil, err
	}
	s.env.Logger.Info("published the default master key as active", "key_id", id)
	return &cairnpb.MasterKeyState{ActiveKeyId: id, SetUnixNano: s.env.Now().UnixNano()}, nil
}

// rewrapCandidate is one wrapped key found by a pass: a data key envelope
// (env) or an access key's secret (key).
type rewrapCandidate struct {
	item *cairnpb.RewrapItem
	from string // key ID it is wrapped by ("" for a plaintext secret)
	env  *cairnpb.Encryption
	key  *cairnpb.AccessKey
}

// wrap returns the candidate's secret wrapped under the key to.
func (c rewrapCandidate) wrap(r *keyring.Keyring, to string) ([]byte, error) {
	if c.env != nil {
		return rewrapEnvelope(r, c.env, to)
	}
	secret, err := SecretOf(r, c.key)
	if err != nil {
		return nil, err
	}
	return SealSecret(r, to, c.key.GetAccessKeyId(), secret)
}

// rewrapWalk offers the wrapped keys of one table from the key from on (nil:
// its start) to add until add returns false, and returns the key to resume
// at (nil when the table is done).
type rewrapWalk func(r pebble.Reader, from []byte, add func(c rewrapCandidate) bool) ([]byte, error)

// rewrapPass walks everything once and re-wraps what is under another key
// than active. It returns how many keys it re-wrapped.
func (s *Set) rewrapPass(ctx context.Context, active string) (int64, error) {
	ring := s.env.Keyring
	if !ring.Has(active) {
		return 0, fmt.Errorf("meta: the active master key %q is not in this node's %s: nothing can be re-wrapped", active, ring)
	}
	var pending int64
	if err := s.env.Store.View(func(r pebble.Reader) error {
		counts, err := CountWrapped(r)
		for id, c := range counts {
			if id != active {
				pending += c.GetVersions() + c.GetUploadParts() + c.GetAccessKeys()
			}
		}
		return err
	}); err != nil {
		return 0, err
	}
	p := &s.rewrap
	start := s.env.Now()
	p.mu.Lock()
	p.running, p.pending, p.failed, p.rate = true, pending, 0, 0
	p.mu.Unlock()
	var done int64
	defer func() {
		p.mu.Lock()
		p.running = false
		p.passes++
		p.lastPass = s.env.Now()
		p.mu.Unlock()
	}()
	if pending == 0 {
		return 0, nil
	}

	// One table at a time, each resumed from the key after the last one
	// looked at, so that no Pebble view is held across a proposal.
	walks := []rewrapWalk{walkVersions, walkUploadParts, walkAccessKeys}
	for _, walk := range walks {
		var from []byte
		for {
			var batch []rewrapCandidate
			var next []byte
			err := s.env.Store.View(func(r pebble.Reader) error {
				var err error
				next, err = walk(r, from, func(c rewrapCandidate) bool {
					if c.from == active {
						return true
					}
					batch = append(batch, c)
					return len(batch) < rewrapBatch
				})
				return err
			})
			if err != nil {
				return done, err
			}
			k, err := s.proposeRewrap(ctx, active, batch)
			done += k
			p.mu.Lock()
			p.done += k
			p.pending -= k
			p.failed += int64(len(batch)) - k
			if secs := s.env.Now().Sub(start).Seconds(); secs > 0 {
				p.rate = float64(done) / secs
			}
			p.mu.Unlock()
			if err != nil {
				return done, err
			}
			if k > 0 && !leaderjob.Sleep(ctx, time.Duration(float64(k)/float64(s.env.Config.RewrapRate)*float64(time.Second))) {
				return done, ctx.Err()
			}
			if next == nil {
				break
			}
			from = next
		}
	}
	if done > 0 {
		s.env.Logger.Info("re-wrapped keys under the active master key", "key_id", active, "keys", done)
	}
	return done, nil
}

// proposeRewrap wraps the candidates under active and proposes them. It
// returns how many it proposed; candidates that do not unwrap are logged
// and left.
func (s *Set) proposeRewrap(ctx context.Context, active string, batch []rewrapCandidate) (int64, error) {
	cmd := &cairnpb.RewrapCmd{}
	for _, c := range batch {
		wrapped, err := c.wrap(s.env.Keyring, active)
		if err != nil {
			s.env.Logger.Warn("cannot re-wrap a key", "from", c.from, "to", active, "err", err)
			continue
		}
		c.item.NewWrapped, c.item.NewKeyId = wrapped, active
		cmd.Items = append(cmd.Items, c.item)
	}
	if len(cmd.Items) == 0 {
		return 0, nil
	}
	if err := s.env.Propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_Rewrap{Rewrap: cmd}}); err != nil {
		return 0, fmt.Errorf("meta: propose %d re-wrapped keys: %w", len(cmd.Items), err)
	}
	return int64(len(cmd.Items)), nil
}

// rewrapEnvelope unwraps e's data key and wraps it under the key to.
func rewrapEnvelope(r *keyring.Keyring, e *cairnpb.Encryption, to string) ([]byte, error) {
	aad := func(id string) []byte {
		return keyring.EnvelopeAAD(e.GetAlgorithm(), int(e.GetPackageSize()), e.GetNoncePrefix(), id, e.GetCustomerKeySalt())
	}
	dataKey, err := r.Unwrap(e.GetKeyId(), e.GetWrappedKey(), aad(e.GetKeyId()))
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	return r.Wrap(to, dataKey, aad(to))
}

// masterWrapped reports whether e's data key is wrapped by a master key
// (not SSE-C, not absent).
func masterWrapped(e *cairnpb.Encryption) bool { return e != nil && e.GetKeyId() != "" }

// walkVersions offers the envelopes of versions and their parts.
func walkVersions(r pebble.Reader, from []byte, add func(c rewrapCandidate) bool) ([]byte, error) {
	var next []byte
	err := fsm.ForEachVersion(r, from, func(key []byte, v *cairnpb.ObjectVersion) error {
		more := true
		offer := func(part int32, e *cairnpb.Encryption) {
			if !masterWrapped(e) {
				return
			}
			ref := &cairnpb.RewrapVersionRef{BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId(), PartNumber: part}
			item := &cairnpb.RewrapItem{Target: &cairnpb.RewrapItem_Version{Version: ref}, OldWrapped: e.GetWrappedKey()}
			more = add(rewrapCandidate{item: item, from: e.GetKeyId(), env: e}) && more
		}
		offer(0, v.GetEncryption())
		for _, p := range v.GetParts() {
			offer(p.GetNumber(), p.GetEncryption())
		}
		if !more {
			next = append(key, 0)
			return fsm.ErrStopWalk
		}
		return nil
	})
	return next, err
}

// walkUploadParts offers the envelopes of parts of uploads in progress.
func walkUploadParts(r pebble.Reader, from []byte, add func(c rewrapCandidate) bool) ([]byte, error) {
	return walkTable(r, []byte(fsm.TagPart), from, func(key, value []byte) (bool, error) {
		up := &cairnpb.UploadedPart{}
		if err := proto.Unmarshal(value, up); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", key, err)
		}
		e := up.GetPart().GetEncryption()
		if !masterWrapped(e) || len(key) < len(fsm.TagPart)+4 {
			return true, nil
		}
		rest := key[len(fsm.TagPart):]
		ref := &cairnpb.RewrapUploadPartRef{UploadId: string(rest[:len(rest)-4]), PartNumber: up.GetPart().GetNumber()}
		item := &cairnpb.RewrapItem{Target: &cairnpb.RewrapItem_UploadPart{UploadPart: ref}, OldWrapped: e.GetWrappedKey()}
		return add(rewrapCandidate{item: item, from: e.GetKeyId(), env: e}), nil
	})
}

// walkAccessKeys offers the secrets of access keys, plaintext ones too.
func walkAccessKeys(r pebble.Reader, from []byte, add func(c rewrapCandidate) bool) ([]byte, error) {
	return walkTable(r, []byte(fsm.TagKey), from, func(key, value []byte) (bool, error) {
		k := &cairnpb.AccessKey{}
		if err := proto.Unmarshal(value, k); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", key, err)
		}
		if len(k.GetSealedSecret()) == 0 && k.GetSecret() == "" {
			return true, nil
		}
		item := &cairnpb.RewrapItem{Target: &cairnpb.RewrapItem_AccessKeyId{AccessKeyId: k.GetAccessKeyId()}, OldWrapped: k.GetSealedSecret()}
		return add(rewrapCandidate{item: item, from: k.GetSecretKeyId(), key: k}), nil
	})
}

// walkTable calls fn for the entries of one table from the key from on
// until fn returns false, and returns the key after the last one fn saw
// then (nil when it saw the whole table).
func walkTable(r pebble.Reader, prefix, from []byte, fn func(key, value []byte) (bool, error)) ([]byte, error) {
	lower := prefix
	if bytes.Compare(from, lower) > 0 {
		lower = from
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: fsm.PrefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("meta: walk %q: %w", prefix, err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("meta: walk %q: %w", prefix, err)
		}
		more, err := fn(it.Key(), v)
		if err != nil {
			return nil, err
		}
		if !more {
			return append(bytes.Clone(it.Key()), 0), nil
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("meta: walk %q: %w", prefix, err)
	}
	return nil, nil
}

// CountWrapped counts the wrapped keys the cluster keeps by the master key
// that wraps them; plaintext access key secrets count under "".
func CountWrapped(r pebble.Reader) (map[string]*cairnpb.MasterKeyCount, error) {
	counts := map[string]*cairnpb.MasterKeyCount{}
	of := func(id string) *cairnpb.MasterKeyCount {
		c, ok := counts[id]
		if !ok {
			c = &cairnpb.MasterKeyCount{KeyId: id}
			counts[id] = c
		}
		return c
	}
	count := func(c rewrapCandidate) bool {
		switch {
		case c.key != nil:
			of(c.from).AccessKeys++
		case c.item.GetUploadPart() != nil:
			of(c.from).UploadParts++
		default:
			of(c.from).Versions++
		}
		return true
	}
	for _, walk := range []rewrapWalk{walkVersions, walkUploadParts, walkAccessKeys} {
		if _, err := walk(r, nil, count); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// SealSecret seals an access key's secret under the key id.
func SealSecret(r *keyring.Keyring, keyID, accessKeyID, secret string) ([]byte, error) {
	sealed, err := r.Wrap(keyID, []byte(secret), keyring.SecretAAD(accessKeyID, keyID))
	if err != nil {
		return nil, fmt.Errorf("meta: seal secret of %s: %w", accessKeyID, err)
	}
	return sealed, nil
}

// SecretOf returns an access key record's secret: unsealed, or as stored
// by versions of Cairn that did not seal secrets.
func SecretOf(r *keyring.Keyring, k *cairnpb.AccessKey) (string, error) {
	if len(k.GetSealedSecret()) == 0 {
		return k.GetSecret(), nil
	}
	if r == nil {
		return "", fmt.Errorf("meta: access key %s is sealed and this node has no master key", k.GetAccessKeyId())
	}
	plain, err := r.Unwrap(k.GetSecretKeyId(), k.GetSealedSecret(), keyring.SecretAAD(k.GetAccessKeyId(), k.GetSecretKeyId()))
	if err != nil {
		return "", fmt.Errorf("meta: unseal secret of %s: %w", k.GetAccessKeyId(), err)
	}
	return string(plain), nil
}
