package meta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The lifecycle job: the leader carries out buckets' lifecycle rules.
//
// Every round visits each bucket with a configuration and, for each rule
// and each of its index-walking actions (expiration of current versions,
// of noncurrent versions, of lone delete markers), walks the bucket's
// expiry index (fsm/lifecycle.go) from the action's cursor up to the
// action's cutoff: the creation time before which a version is due. A
// version made at t with "Days: d" expires at the first midnight UTC
// after t + d days, so it is due at now when t < (⌊now/day⌋ − d)·day.
// The index is ordered by that time, so a walk reads only entries that
// became due since the last round; nothing else of the bucket is read.
// For each entry the job reads the key's versions, decides, and proposes
// a LifecycleExpireCmd per removal, which the FSM checks again and
// carries out through the normal delete paths (object lock refuses a
// locked version; the job counts and skips it). Abandoned multipart
// uploads are found by a scan of the bucket's uploads, which are few.
//
// Cursors are replicated (SetLifecycleProgressCmd) every
// lifecyclePersistEvery and at the end of each bucket, so a new leader
// resumes where the last one stopped; redoing an entry is harmless, as
// every removal is checked again in its apply. Entries are examined at
// Config.LifecycleRate per second (leaderjob.Pacer) in batches of
// lifecycleBatch, which bounds the job's memory.

const (
	lifecycleBatch        = 256
	lifecyclePersistEvery = 5 * time.Second
	lifecycleMaxInterval  = time.Minute
	lifecycleMinInterval  = 100 * time.Millisecond
	// lifecycleMaxVersions bounds the versions of one key read at once.
	lifecycleMaxVersions = 10000
)

// Lifecycle defaults.
const (
	DefaultLifecycleDay  = 24 * time.Hour
	DefaultLifecycleRate = 5000
)

// lifecycleCounters is the lifecycle job's work since the node started.
type lifecycleCounters struct {
	scanned, expired, noncurrent, markers, uploads, locked atomic.Int64
}

// LifecycleStats is the lifecycle job's work since this node started.
type LifecycleStats struct {
	// Scanned counts expiry index entries examined.
	Scanned int64
	// Expired, NoncurrentRemoved, MarkersRemoved and UploadsAborted count
	// the removals the job proposed and the FSM did not refuse (one that
	// no longer held when applied changed nothing, and is counted too).
	Expired, NoncurrentRemoved, MarkersRemoved, UploadsAborted int64
	// Locked counts removals object lock refused.
	Locked int64
}

// LifecycleStats returns the lifecycle job's counts on this node.
func (s *Server) LifecycleStats() LifecycleStats {
	c := &s.node.lifecycle
	return LifecycleStats{
		Scanned: c.scanned.Load(), Expired: c.expired.Load(), NoncurrentRemoved: c.noncurrent.Load(),
		MarkersRemoved: c.markers.Load(), UploadsAborted: c.uploads.Load(), Locked: c.locked.Load(),
	}
}

// Progress is the job's work since the node started, for cairnctl status.
func (j *lifecycleJob) Progress() string {
	c := &j.n.lifecycle
	return fmt.Sprintf("%d index entries examined; %d expired, %d noncurrent removed, %d delete markers removed, %d uploads aborted; %d refused by object lock",
		c.scanned.Load(), c.expired.Load(), c.noncurrent.Load(), c.markers.Load(), c.uploads.Load(), c.locked.Load())
}

// lifecycleJob is the leader's lifecycle job.
type lifecycleJob struct {
	n    *node
	pace *leaderjob.Pacer
}

func (j *lifecycleJob) Name() string { return jobLifecycle }

// Interval is an eighth of a lifecycle day, within bounds: due dates are
// midnights, so a removal is at most that late.
func (j *lifecycleJob) Interval() time.Duration {
	return min(max(j.n.cfg.LifecycleDay/8, lifecycleMinInterval), lifecycleMaxInterval)
}

func (j *lifecycleJob) Start(context.Context) time.Duration {
	j.pace = leaderjob.NewPacer(j.n.cfg.LifecycleRate)
	return 0
}

func (j *lifecycleJob) Round(ctx context.Context) error {
	var buckets []*cairnpb.Bucket
	err := j.n.store.View(func(r pebble.Reader) error {
		return fsm.ScanProtos(r, []byte(fsm.TagBucket), func() *cairnpb.Bucket { return &cairnpb.Bucket{} }, func(bk *cairnpb.Bucket) {
			if len(bk.GetLifecycle().GetRules()) > 0 {
				bk.Lifecycle.Xml = nil
				bk.Cors, bk.Tags = nil, nil
				buckets = append(buckets, bk)
			}
		})
	})
	if err != nil {
		return fmt.Errorf("meta: lifecycle: list buckets: %w", err)
	}
	for _, bk := range buckets {
		if err := j.n.lifecycleBucket(ctx, j.pace, bk); err != nil {
			return fmt.Errorf("meta: lifecycle of bucket %q: %w", bk.GetName(), err)
		}
	}
	return nil
}

// actionCutoff is the cutoff of action a of rule r at now; false when the
// rule has no such action or nothing is due yet.
func actionCutoff(r *cairnpb.LifecycleRule, a int, now int64, day time.Duration) (int64, bool) {
	var cut int64
	switch a {
	case fsm.ActExpire:
		switch {
		case r.GetExpirationDays() > 0:
			cut = cairnpb.LifecycleCutoff(now, r.GetExpirationDays(), day)
		case r.GetExpirationDateUnixNano() > 0 && now >= r.GetExpirationDateUnixNano():
			cut = now + 1
		}
	case fsm.ActNoncurrent:
		if r.GetNoncurrentDays() > 0 {
			cut = cairnpb.LifecycleCutoff(now, r.GetNoncurrentDays(), day)
		}
	case fsm.ActMarker:
		if r.GetExpiredObjectDeleteMarker() {
			cut = now + 1
		}
	}
	return cut, cut > 0
}

// errLifecycleChanged ends a bucket's round when its configuration
// changed under it: the next round starts on the new one.
var errLifecycleChanged = errors.New("meta: lifecycle configuration changed")

// lifecycleBucket does one round of bucket bk's rules.
func (n *node) lifecycleBucket(ctx context.Context, pace *leaderjob.Pacer, bk *cairnpb.Bucket) error {
	var p *cairnpb.LifecycleProgress
	if err := n.store.View(func(r pebble.Reader) error {
		var err error
		p, err = fsm.GetLifecycleProgress(r, bk)
		return err
	}); err != nil {
		return err
	}
	now := n.cfg.Now().UnixNano()
	day := n.cfg.LifecycleDay
	dirty, saved := false, time.Now()
	save := func() error {
		cmd := &cairnpb.SetLifecycleProgressCmd{BucketId: bk.GetId(), Namespace: bk.GetNamespace(), Bucket: bk.GetName(),
			Progress: proto.Clone(p).(*cairnpb.LifecycleProgress)}
		err := n.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_SetLifecycleProgress{SetLifecycleProgress: cmd}})
		switch {
		case errors.Is(err, rpcerr.ErrInvalidArgument), errors.Is(err, rpcerr.ErrBucketNotFound):
			return errLifecycleChanged
		case err != nil:
			return fmt.Errorf("save lifecycle progress: %w", err)
		}
		dirty, saved = false, time.Now()
		return nil
	}
	err := n.lifecycleWalk(ctx, pace, bk, p, now, day, func() error {
		dirty = true
		if time.Since(saved) >= lifecyclePersistEvery {
			return save()
		}
		return nil
	})
	if err == nil {
		err = n.lifecycleUploads(ctx, bk, now, day)
	}
	if dirty && (err == nil || ctx.Err() == nil) {
		if serr := save(); err == nil {
			err = serr
		}
	}
	if errors.Is(err, errLifecycleChanged) {
		return nil
	}
	return err
}

// lifecycleWalk walks the expiry index for every rule and action of bk
// from its cursor in p to its cutoff, proposing the removals each entry
// calls for and calling moved after each entry.
func (n *node) lifecycleWalk(ctx context.Context, pace *leaderjob.Pacer, bk *cairnpb.Bucket, p *cairnpb.LifecycleProgress,
	now int64, day time.Duration, moved func() error) error {
	for ri, rule := range bk.GetLifecycle().GetRules() {
		for a := range fsm.LifecycleActions {
			cut, ok := actionCutoff(rule, a, now, day)
			if !ok {
				continue
			}
			slot := ri*fsm.LifecycleActions + a
			for {
				batch, err := n.lifecycleSteps(bk, rule, a, p.Cursors[slot], cut)
				if err != nil {
					return err
				}
				for _, st := range batch {
					if err := pace.Wait(ctx, 1); err != nil {
						return err
					}
					n.lifecycle.scanned.Add(1)
					for _, cmd := range st.removals {
						if err := n.lifecycleRemove(ctx, cmd); err != nil {
							return err
						}
					}
					p.Cursors[slot] = st.dbKey
					if err := moved(); err != nil {
						return err
					}
				}
				if len(batch) < lifecycleBatch {
					break
				}
			}
		}
	}
	return nil
}

// lifecycleStep is one index entry walked: its key, and the removals it
// calls for.
type lifecycleStep struct {
	dbKey    []byte
	removals []*cairnpb.LifecycleExpireCmd
}

// lifecycleSteps reads up to lifecycleBatch index entries of bk after
// cursor (nil: from the start) made before cut, and decides, in the same
// read, the removals action a of rule calls for at each.
func (n *node) lifecycleSteps(bk *cairnpb.Bucket, rule *cairnpb.LifecycleRule, a int, cursor []byte, cut int64) ([]lifecycleStep, error) {
	id := bk.GetId()
	base := fsm.LifecycleIndexPrefix(id)
	lower := base
	if cursor != nil {
		lower = append(bytes.Clone(cursor), 0)
	}
	upper := fsm.LifecycleIndexTime(id, cut)
	if bytes.Compare(lower, upper) >= 0 {
		return nil, nil
	}
	var out []lifecycleStep
	err := n.store.View(func(r pebble.Reader) error {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return err
		}
		defer it.Close()
		// Current versions are looked up with one iterator over the
		// object table, reused across the batch.
		objects, err := r.NewIter(&pebble.IterOptions{LowerBound: fsm.ObjectPrefix(id), UpperBound: fsm.PrefixEnd(fsm.ObjectPrefix(id))})
		if err != nil {
			return err
		}
		defer objects.Close()
		// A key met twice in a batch (several of its versions in the
		// window) is decided from the same read: its removals are
		// proposed once.
		decided := map[string]bool{}
		for ok := it.First(); ok && len(out) < lifecycleBatch; ok = it.Next() {
			e, valid := fsm.SplitLifecycleKey(bytes.Clone(it.Key()), len(base))
			if !valid {
				continue
			}
			st := lifecycleStep{dbKey: e.DBKey}
			if strings.HasPrefix(e.Key, rule.GetFilter().GetPrefix()) {
				removals, err := lifecycleDecide(r, objects, bk, rule, a, e, cut)
				if err != nil {
					return err
				}
				for _, cmd := range removals {
					id := cmd.GetKey() + "\x00" + cmd.GetVersionId() + "\x00" + cmd.GetAction().String()
					if !decided[id] {
						decided[id] = true
						st.removals = append(st.removals, cmd)
					}
				}
			}
			out = append(out, st)
		}
		if err := it.Error(); err != nil {
			return err
		}
		return objects.Error()
	})
	return out, err
}

// lifecycleDecide returns the removals action a of rule calls for at
// index entry e; objects iterates bk's object table.
func lifecycleDecide(r pebble.Reader, objects *pebble.Iterator, bk *cairnpb.Bucket, rule *cairnpb.LifecycleRule, a int,
	e fsm.LifecycleEntry, cut int64) ([]*cairnpb.LifecycleExpireCmd, error) {
	remove := func(v *cairnpb.ObjectVersion, act cairnpb.LifecycleExpireCmd_Action) *cairnpb.LifecycleExpireCmd {
		return &cairnpb.LifecycleExpireCmd{Namespace: bk.GetNamespace(), Bucket: bk.GetName(), Key: e.Key, VersionId: v.GetVersionId(), Action: act}
	}
	if a == fsm.ActExpire {
		// Only the current version matters; a key whose newest version
		// is a delete marker has none in the object table.
		k := fsm.CurrentVersionKey(bk.GetId(), e.Key)
		if !objects.SeekGE(k) || !bytes.Equal(objects.Key(), k) {
			return nil, objects.Error()
		}
		cur := &cairnpb.ObjectVersion{}
		if err := proto.Unmarshal(objects.Value(), cur); err != nil {
			return nil, fmt.Errorf("meta: decode version of %q: %w", e.Key, err)
		}
		if cur.GetVersionId() != e.VersionID || !rule.GetFilter().Matches(cur) {
			return nil, nil
		}
		return []*cairnpb.LifecycleExpireCmd{remove(cur, cairnpb.LifecycleExpireCmd_EXPIRE_CURRENT)}, nil
	}
	versions, err := fsm.KeyVersions(r, bk.GetId(), e.Key)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	versions = versions[:min(len(versions), lifecycleMaxVersions)]
	newest := versions[0]
	var out []*cairnpb.LifecycleExpireCmd
	switch a {
	case fsm.ActNoncurrent:
		all := true
		for i := 1; i < len(versions); i++ {
			v := versions[i]
			since := versions[i-1].GetModifiedUnixNano()
			if int32(i-1) < rule.GetNewerNoncurrentVersions() || since >= cut ||
				(!v.GetDeleteMarker() && !rule.GetFilter().Matches(v)) {
				all = false
				continue
			}
			out = append(out, remove(v, cairnpb.LifecycleExpireCmd_REMOVE_NONCURRENT))
		}
		// The marker goes too once nothing is left under it; if object
		// lock refuses a removal above, its apply finds the marker not
		// alone and does nothing.
		if all && len(versions) > 1 && rule.GetExpiredObjectDeleteMarker() && newest.GetDeleteMarker() {
			out = append(out, remove(newest, cairnpb.LifecycleExpireCmd_REMOVE_MARKER))
		}
	case fsm.ActMarker:
		if len(versions) == 1 && newest.GetDeleteMarker() && newest.GetVersionId() == e.VersionID {
			out = append(out, remove(newest, cairnpb.LifecycleExpireCmd_REMOVE_MARKER))
		}
	}
	return out, nil
}

// lifecycleRemove proposes one removal; object lock's refusal is counted
// and passed over.
func (n *node) lifecycleRemove(ctx context.Context, cmd *cairnpb.LifecycleExpireCmd) error {
	err := n.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_LifecycleExpire{LifecycleExpire: cmd}})
	switch {
	case errors.Is(err, rpcerr.ErrObjectLocked):
		n.lifecycle.locked.Add(1)
		return nil
	case errors.Is(err, rpcerr.ErrBucketNotFound):
		return errLifecycleChanged
	case err != nil:
		return fmt.Errorf("expire %q: %w", cmd.GetKey(), err)
	}
	switch cmd.GetAction() {
	case cairnpb.LifecycleExpireCmd_EXPIRE_CURRENT:
		n.lifecycle.expired.Add(1)
	case cairnpb.LifecycleExpireCmd_REMOVE_NONCURRENT:
		n.lifecycle.noncurrent.Add(1)
	case cairnpb.LifecycleExpireCmd_REMOVE_MARKER:
		n.lifecycle.markers.Add(1)
	}
	return nil
}

// lifecycleUploads aborts bk's multipart uploads that its rules'
// AbortIncompleteMultipartUpload says are abandoned. Uploads in progress
// are few (they are the writes under way), so every round reads them
// all, a batch at a time.
func (n *node) lifecycleUploads(ctx context.Context, bk *cairnpb.Bucket, now int64, day time.Duration) error {
	type abort struct{ key, id string }
	base := fsm.UploadsPrefix(bk.GetId())
	lower := base
	for {
		var batch []abort
		var last []byte
		err := n.store.View(func(r pebble.Reader) error {
			it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: fsm.PrefixEnd(base)})
			if err != nil {
				return err
			}
			defer it.Close()
			read := 0
			for ok := it.First(); ok && read < lifecycleBatch; ok = it.Next() {
				read++
				last = bytes.Clone(it.Key())
				u := &cairnpb.MultipartUpload{}
				if err := proto.Unmarshal(it.Value(), u); err != nil {
					return fmt.Errorf("meta: decode upload: %w", err)
				}
				for _, rule := range bk.GetLifecycle().GetRules() {
					d := rule.GetAbortUploadDays()
					if d > 0 && strings.HasPrefix(u.GetKey(), rule.GetFilter().GetPrefix()) &&
						u.GetInitiatedUnixNano() < cairnpb.LifecycleCutoff(now, d, day) {
						batch = append(batch, abort{u.GetKey(), u.GetUploadId()})
						break
					}
				}
			}
			return it.Error()
		})
		if err != nil {
			return err
		}
		for _, a := range batch {
			cmd := &cairnpb.AbortUploadCmd{Namespace: bk.GetNamespace(), Bucket: bk.GetName(), Key: a.key, UploadId: a.id}
			err := n.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_AbortUpload{AbortUpload: cmd}})
			switch {
			case errors.Is(err, rpcerr.ErrUploadNotFound):
			case err != nil:
				return fmt.Errorf("abort upload %q of %q: %w", a.id, a.key, err)
			default:
				n.lifecycle.uploads.Add(1)
			}
		}
		if last == nil {
			return nil
		}
		lower = append(last, 0)
	}
}

func (m *metaService) SetBucketLifecycle(ctx context.Context, req *cairnpb.SetBucketLifecycleRequest) (*cairnpb.SetBucketLifecycleResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := fsm.ValidLifecycle(req.GetLifecycle()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setBucketLifecycle, cairnpb.MetaClient.SetBucketLifecycle)
}

func (s *Server) setBucketLifecycle(ctx context.Context, req *cairnpb.SetBucketLifecycleRequest) (*cairnpb.SetBucketLifecycleResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetBucketLifecycle{SetBucketLifecycle: &cairnpb.SetBucketLifecycleCmd{
		Namespace: req.GetNamespace(), Name: req.GetBucket(), Lifecycle: req.GetLifecycle(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetBucketLifecycleResponse{}, nil
}
