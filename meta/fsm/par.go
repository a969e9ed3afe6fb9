package fsm

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Pre-authenticated requests (PARs) of the native API, under the "t/"
// table:
//
//	t/par/<namespace>\x00<bucket>\x00<id> -> cairnpb.PAR
//	t/parh/<SHA-256 of the token, 32 bytes> -> cairnpb.PAR (namespace, bucket and id only)
//
// The token is never stored, only its hash, drawn and hashed by the
// gateway before the command is proposed. What an access type allows is
// the gateway's to decide (s3api/native); the FSM keeps the record as the
// gateway validated it, bound to the bucket's ID so that a bucket deleted
// and made again under the same name is not reached by the old PARs.
const (
	tagPAR     = "t/par/"
	tagPARHash = "t/parh/"
)

// Bounds on a PAR's fields (OCI bounds names and object names the same way).
const (
	maxPARIDLen   = 128
	maxPARNameLen = 1024
	maxPARTypeLen = 64
)

func parPrefix(ns, bucket string) []byte {
	k := append([]byte(tagPAR), ns...)
	k = append(k, 0)
	k = append(k, bucket...)
	return append(k, 0)
}

func parKey(ns, bucket, id string) []byte { return append(parPrefix(ns, bucket), id...) }

func parHashKey(hash []byte) []byte { return append([]byte(tagPARHash), hash...) }

// ValidPAR checks what a PAR to record must carry; services run it before
// proposing and the apply runs it again.
func ValidPAR(p *cairnpb.PAR) error {
	switch {
	case p.GetId() == "" || len(p.GetId()) > maxPARIDLen || strings.ContainsAny(p.GetId(), "\x00/"):
		return Invalid("PAR: the ID must be 1 to %d characters without / or NUL", maxPARIDLen)
	case p.GetNamespace() == "" || p.GetBucket() == "":
		return Invalid("PAR: namespace and bucket are required")
	case p.GetName() == "" || len(p.GetName()) > maxPARNameLen:
		return Invalid("PAR: the name must be 1 to %d bytes", maxPARNameLen)
	case len(p.GetObjectName()) > maxPARNameLen:
		return Invalid("PAR: the object name is longer than %d bytes", maxPARNameLen)
	case p.GetAccessType() == "" || len(p.GetAccessType()) > maxPARTypeLen || len(p.GetBucketListingAction()) > maxPARTypeLen:
		return Invalid("PAR: the access type is required")
	case len(p.GetTokenHash()) != sha256.Size:
		return Invalid("PAR: the token hash must be a SHA-256")
	case p.GetExpiresUnixNano() <= 0:
		return Invalid("PAR: an expiry time is required")
	case p.GetCreator() == "":
		return Invalid("PAR: the creator is required")
	}
	return nil
}

// liveBucket returns the bucket p was made for, or ErrPARNotFound when it
// is gone or was made again since.
func liveBucket(r pebble.Reader, p *cairnpb.PAR) (*cairnpb.Bucket, error) {
	b, err := GetBucket(r, p.GetNamespace(), p.GetBucket())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b.GetId(), p.GetBucketId()) {
		return nil, fmt.Errorf("meta: PAR %q: its bucket %q was deleted: %w", p.GetId(), p.GetBucket(), rpcerr.ErrPARNotFound)
	}
	return b, nil
}

// GetPAR returns a bucket's PAR by ID.
func GetPAR(r pebble.Reader, ns, bucket, id string) (*cairnpb.PAR, error) {
	p := &cairnpb.PAR{}
	ok, err := GetProto(r, parKey(ns, bucket, id), p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: PAR %q of bucket %q in namespace %q: %w", id, bucket, ns, rpcerr.ErrPARNotFound)
	}
	if _, err := liveBucket(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ListPARs returns a bucket's PARs whose object name starts with prefix,
// ordered by ID.
func ListPARs(r pebble.Reader, ns, bucket, prefix string) ([]*cairnpb.PAR, error) {
	b, err := GetBucket(r, ns, bucket)
	if err != nil {
		return nil, err
	}
	var out []*cairnpb.PAR
	err = ScanProtos(r, parPrefix(ns, bucket), func() *cairnpb.PAR { return &cairnpb.PAR{} }, func(p *cairnpb.PAR) {
		if bytes.Equal(p.GetBucketId(), b.GetId()) && strings.HasPrefix(p.GetObjectName(), prefix) {
			out = append(out, p)
		}
	})
	return out, err
}

// ListNamespacePARs returns the PARs of every bucket of namespace ns, or
// of bucket alone when it is not empty, by bucket then ID: the records
// Admin shows operators. PARs whose bucket is gone or was made again are
// left out, as ListPARs leaves them out.
func ListNamespacePARs(r pebble.Reader, ns, bucket string) ([]*cairnpb.PAR, error) {
	if bucket != "" {
		return ListPARs(r, ns, bucket, "")
	}
	prefix := append([]byte(tagPAR), ns...)
	prefix = append(prefix, 0)
	var out []*cairnpb.PAR
	var scanErr error
	err := ScanProtos(r, prefix, func() *cairnpb.PAR { return &cairnpb.PAR{} }, func(p *cairnpb.PAR) {
		if scanErr != nil {
			return
		}
		dead, err := parBucketGone(r, p)
		switch {
		case err != nil:
			scanErr = err
		case !dead:
			out = append(out, p)
		}
	})
	if err == nil {
		err = scanErr
	}
	return out, err
}

// parBucketGone reports whether p's bucket is gone or was made again:
// then p can never be used.
func parBucketGone(r pebble.Reader, p *cairnpb.PAR) (bool, error) {
	_, err := liveBucket(r, p)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, rpcerr.ErrBucketNotFound), errors.Is(err, rpcerr.ErrPARNotFound):
		return true, nil
	}
	return false, err
}

// PrunablePARs examines up to limit PAR records in key order, from key
// from (nil: the first), and returns those that can never be used again:
// expired at or before expiredBefore, or of a bucket that is gone or was
// made again. next is the key to go on from, nil when the scan reached
// the end.
func PrunablePARs(r pebble.Reader, expiredBefore int64, from []byte, limit int) (found []*cairnpb.DeletePARCmd, next []byte, err error) {
	lower := []byte(tagPAR)
	if from != nil {
		lower = from
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: PrefixEnd([]byte(tagPAR))})
	if err != nil {
		return nil, nil, fmt.Errorf("meta: scan PARs: %w", err)
	}
	defer it.Close()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		if n == limit {
			return found, bytes.Clone(it.Key()), nil
		}
		n++
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, fmt.Errorf("meta: scan PARs: %w", err)
		}
		p := &cairnpb.PAR{}
		if err := proto.Unmarshal(v, p); err != nil {
			return nil, nil, fmt.Errorf("meta: decode %q: %w", it.Key(), err)
		}
		prunable, err := parPrunable(r, p, expiredBefore)
		if err != nil {
			return nil, nil, err
		}
		if prunable {
			found = append(found, &cairnpb.DeletePARCmd{Namespace: p.GetNamespace(), Bucket: p.GetBucket(), Id: p.GetId()})
		}
	}
	if err := it.Error(); err != nil {
		return nil, nil, fmt.Errorf("meta: scan PARs: %w", err)
	}
	return found, nil, nil
}

// parPrunable reports whether p can never be used again.
func parPrunable(r pebble.Reader, p *cairnpb.PAR, expiredBefore int64) (bool, error) {
	if p.GetExpiresUnixNano() <= expiredBefore {
		return true, nil
	}
	return parBucketGone(r, p)
}

// LookupPAR returns the PAR whose token hashes to hash, when its bucket
// is still the one it was made for. Expiry is the caller's to check,
// against its clock.
func LookupPAR(r pebble.Reader, hash []byte) (*cairnpb.PAR, error) {
	ref := &cairnpb.PAR{}
	ok, err := GetProto(r, parHashKey(hash), ref)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: no PAR has that token: %w", rpcerr.ErrPARNotFound)
	}
	p, err := GetPAR(r, ref.GetNamespace(), ref.GetBucket(), ref.GetId())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p.GetTokenHash(), hash) {
		return nil, fmt.Errorf("meta: PAR %q: its hash index is stale: %w", p.GetId(), rpcerr.ErrPARNotFound)
	}
	return p, nil
}

func applyCreatePAR(b *pebble.Batch, now int64, c *cairnpb.CreatePARCmd) error {
	p := proto.Clone(c.GetPar()).(*cairnpb.PAR)
	if err := ValidPAR(p); err != nil {
		return err
	}
	bucket, err := GetBucket(b, p.GetNamespace(), p.GetBucket())
	if err != nil {
		return err
	}
	ref := &cairnpb.PAR{}
	taken, err := GetProto(b, parHashKey(p.GetTokenHash()), ref)
	if err != nil {
		return err
	}
	if taken {
		if ref.GetNamespace() == p.GetNamespace() && ref.GetBucket() == p.GetBucket() && ref.GetId() == p.GetId() {
			return nil // a retry of this very PAR
		}
		return Invalid("create PAR: the token hash is taken") // random: a clash is a bug
	}
	if ok, err := GetProto(b, parKey(p.GetNamespace(), p.GetBucket(), p.GetId()), &cairnpb.PAR{}); err != nil {
		return err
	} else if ok {
		return Invalid("create PAR: bucket %q already has a PAR %q", p.GetBucket(), p.GetId())
	}
	p.BucketId = bucket.GetId()
	p.CreatedUnixNano = now
	if err := putProto(b, parKey(p.GetNamespace(), p.GetBucket(), p.GetId()), p); err != nil {
		return err
	}
	return putProto(b, parHashKey(p.GetTokenHash()), &cairnpb.PAR{Namespace: p.GetNamespace(), Bucket: p.GetBucket(), Id: p.GetId()})
}

func applyDeletePAR(b *pebble.Batch, c *cairnpb.DeletePARCmd) error {
	p := &cairnpb.PAR{}
	ok, err := GetProto(b, parKey(c.GetNamespace(), c.GetBucket(), c.GetId()), p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("meta: delete PAR %q of bucket %q in namespace %q: %w", c.GetId(), c.GetBucket(), c.GetNamespace(), rpcerr.ErrPARNotFound)
	}
	if err := del(b, parKey(c.GetNamespace(), c.GetBucket(), c.GetId())); err != nil {
		return err
	}
	return del(b, parHashKey(p.GetTokenHash()))
}

// applyPrunePARs removes the named PARs that can never be used again,
// judged again here: a PAR that changed since the job read it is left.
func applyPrunePARs(b *pebble.Batch, now int64, c *cairnpb.PrunePARsCmd) error {
	if c.GetExpiredBeforeUnixNano() > now {
		return Invalid("prune PARs: the expiry cutoff is after the command's time")
	}
	for _, ref := range c.GetPars() {
		key := parKey(ref.GetNamespace(), ref.GetBucket(), ref.GetId())
		p := &cairnpb.PAR{}
		ok, err := GetProto(b, key, p)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		prunable, err := parPrunable(b, p, c.GetExpiredBeforeUnixNano())
		if err != nil {
			return err
		}
		if !prunable {
			continue
		}
		if err := del(b, key); err != nil {
			return err
		}
		if err := del(b, parHashKey(p.GetTokenHash())); err != nil {
			return err
		}
	}
	return nil
}
