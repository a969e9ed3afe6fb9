package fsm

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The determinism fuzz. A log of commands of every kind in the registry,
// drawn at random with payloads from a small world of names (so that most
// commands meet what earlier ones made), some carrying request IDs (fresh,
// repeated or stale), is applied entry by entry to one FSM and in random
// batches to another; every answer, the states every fuzzCheckpoint
// entries and the final states must be equal. Generators may read the
// first FSM's state as the log grows, to name versions, shards and GC
// entries that exist. Every non-nil answer must be a refusal (refusal.go),
// and the first refusal of each kind is checked to leave the state byte
// for byte as it was (race builds also check every refusal in ApplyBatch).

// fuzzGen is what a generator draws from.
type fuzzGen struct {
	t   testing.TB
	rng *rand.Rand
	i   int  // position of the command in the log
	ref *FSM // the FSM the log is applied to, entry by entry, as it grows
}

func (g *fuzzGen) n(k int) int                 { return g.rng.IntN(k) }
func (g *fuzzGen) oneIn(k int) bool            { return g.rng.IntN(k) == 0 }
func (g *fuzzGen) name(p string, k int) string { return fmt.Sprint(p, g.rng.IntN(k)) }

func pick[T any](g *fuzzGen, xs ...T) T { return xs[g.rng.IntN(len(xs))] }

// The world. Objects live in namespace ns0, in buckets b0..b2; b3 is a
// bucket that only bucket commands touch, so it can be deleted. Upload u
// (0..3) is always of key k<u> in bucket b<u%3>. Nodes n0..n3 register;
// n4 never does.
const fuzzNS = "ns0"

func (g *fuzzGen) ns() string        { return pick(g, "ns0", "ns0", "ns1") }
func (g *fuzzGen) bucket() string    { return g.name("b", 3) }
func (g *fuzzGen) anyBucket() string { return g.name("b", 4) }
func (g *fuzzGen) key() string       { return g.name("k", 4) }
func (g *fuzzGen) node() string      { return g.name("n", 5) }
func (g *fuzzGen) version() string   { return fmt.Sprintf("v%05d", g.i) }
func (g *fuzzGen) wrapped() []byte   { return []byte(g.name("w", 3)) }
func (g *fuzzGen) masterKey() string { return g.name("mk", 3) }
func (g *fuzzGen) accessKey() string { return g.name("ak", 4) }
func (g *fuzzGen) tags() map[string]string {
	if g.oneIn(10) {
		return map[string]string{"": "no key"} // invalid
	}
	return map[string]string{"t": fmt.Sprint(g.i)}
}

// iamOCID is the OCID a proposer drew for a new compartment or group:
// mostly a fresh one, sometimes one that may be taken, none (a proposer
// from before OCIDs) or one of the wrong shape.
func (g *fuzzGen) iamOCID(kind string) string {
	return pick(g, fmt.Sprintf("ocid1.%s.oc1..f%d", kind, g.i), fmt.Sprintf("ocid1.%s.oc1..%s", kind, g.name("x", 2)), "", "ocid1."+kind+".oc1..Bad")
}

func fuzzUpload(u int) (bucket, key, id string) {
	return fmt.Sprint("b", u%3), fmt.Sprint("k", u), fsmtest.UploadID(u)
}

func (g *fuzzGen) read(fn func(r pebble.Reader) error) {
	g.t.Helper()
	if err := g.ref.Store.View(fn); err != nil {
		g.t.Fatal(err)
	}
}

// current returns the ID of a bucket of ns0 (nil if there is none) and
// the current version of key in it (nil if none).
func (g *fuzzGen) current(bucket, key string) (bucketID []byte, v *cairnpb.ObjectVersion) {
	g.read(func(r pebble.Reader) error {
		bk, err := GetBucket(r, fuzzNS, bucket)
		if errors.Is(err, rpcerr.ErrBucketNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		bucketID = bk.GetId()
		v, err = GetObject(r, bucketID, key, false)
		return err
	})
	return bucketID, v
}

func (g *fuzzGen) shards(n int) []*cairnpb.ShardLocation {
	var out []*cairnpb.ShardLocation
	for i := range n {
		out = append(out, &cairnpb.ShardLocation{Index: int32(i), NodeId: g.name("n", 4)})
	}
	return out
}

func (g *fuzzGen) encryption() *cairnpb.Encryption {
	if !g.oneIn(3) {
		return nil
	}
	return &cairnpb.Encryption{Algorithm: "cairn-aes256gcm-v1", KeyId: g.masterKey(), WrappedKey: g.wrapped()}
}

// fuzzGenerators holds one generator per registry row. A generator
// returns a random payload, valid more often than not.
func fuzzGenerators() map[protoreflect.Name]func(*fuzzGen) proto.Message {
	return map[protoreflect.Name]func(*fuzzGen) proto.Message{
		"create_bucket": func(g *fuzzGen) proto.Message {
			id := make([]byte, BucketIDLen)
			binary.BigEndian.PutUint64(id[8:], uint64(g.i)+1)
			if g.oneIn(10) {
				id = id[:3]
			}
			return &cairnpb.CreateBucketCmd{Bucket: &cairnpb.Bucket{Namespace: pick(g, fuzzNS, fuzzNS, "ns1"), Name: g.anyBucket(), Id: id}}
		},
		"delete_bucket": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeleteBucketCmd{Namespace: fuzzNS, Name: g.anyBucket()}
		},
		"put_object": func(g *fuzzGen) proto.Message {
			bucket, key := g.bucket(), g.key()
			v := &cairnpb.ObjectVersion{Key: key, VersionId: g.version(), Size: int64(g.i), Etag: "e-" + g.version(), Encryption: g.encryption()}
			if g.oneIn(3) {
				v.InlineData = []byte("inline-" + g.version())
			} else {
				v.Scheme = &cairnpb.ErasureScheme{Data: 2, Parity: 1, BlockSize: 1024}
				v.Shards = g.shards(3)
			}
			c := &cairnpb.PutObjectCmd{Namespace: fuzzNS, Bucket: bucket, Version: v}
			switch g.n(6) {
			case 0:
				c.Condition = &cairnpb.WriteCondition{IfNoneMatch: true}
			case 1:
				etag := "e-none"
				if _, cur := g.current(bucket, key); cur != nil && g.oneIn(2) {
					etag = cur.GetEtag()
				}
				c.Condition = &cairnpb.WriteCondition{IfMatchEtag: etag}
			}
			if g.oneIn(10) {
				v.Key = ""
			}
			return c
		},
		"delete_object": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeleteObjectCmd{Namespace: fuzzNS, Bucket: g.bucket(), Key: pick(g, g.key(), g.key(), g.key(), "")}
		},
		"register_node": func(g *fuzzGen) proto.Message {
			id := g.name("n", 4)
			n := &cairnpb.DataNode{Id: id, Addr: id + ":1", Zone: g.name("z", 2), Weight: 1}
			if g.oneIn(10) {
				n.Addr = ""
			}
			return &cairnpb.RegisterNodeCmd{Node: n}
		},
		"heartbeat": func(g *fuzzGen) proto.Message {
			return &cairnpb.HeartbeatCmd{NodeId: g.node(), CapacityBytes: 1 << 30, UsedBytes: int64(g.i)}
		},
		"set_member": func(g *fuzzGen) proto.Message {
			m := &cairnpb.MetaMember{Id: g.name("m", 2), RaftAddr: "r:1", GrpcAddr: fmt.Sprint("g:", g.i)}
			if g.oneIn(10) {
				m.Id = ""
			}
			return &cairnpb.SetMemberCmd{Member: m}
		},
		"create_upload": func(g *fuzzGen) proto.Message {
			bucket, key, id := fuzzUpload(g.n(4))
			u := &cairnpb.MultipartUpload{Key: key, UploadId: id, ContentType: "text/plain", Encryption: g.encryption()}
			if g.oneIn(3) {
				u.Tags = map[string]string{"u": fmt.Sprint(g.i)}
			}
			if g.oneIn(10) {
				u.UploadId = "not-an-upload-id"
			}
			return &cairnpb.CreateUploadCmd{Namespace: fuzzNS, Bucket: bucket, Upload: u}
		},
		"commit_part": func(g *fuzzGen) proto.Message {
			u := g.n(4)
			bucket, key, id := fuzzUpload(u)
			n := int32(1 + g.n(3))
			p := &cairnpb.PartInfo{
				Number: n, Size: pick(g, int64(minPartSize), int64(minPartSize), 7),
				Etag: fsmtest.ETag(fmt.Sprint(u, "-", n)), Encryption: g.encryption(),
			}
			part := &cairnpb.UploadedPart{Part: p}
			if g.oneIn(3) {
				part.InlineData = []byte("part-" + g.version())
			} else {
				p.ShardBase = fmt.Sprintf("s%05d", g.i)
				p.Scheme = &cairnpb.ErasureScheme{Data: 2, Parity: 1, BlockSize: 1024}
				p.Shards = g.shards(3)
			}
			if g.oneIn(10) {
				p.Number = 0
			}
			return &cairnpb.CommitPartCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, UploadId: id, Part: part}
		},
		"complete_upload": func(g *fuzzGen) proto.Message {
			u := g.n(4)
			bucket, key, id := fuzzUpload(u)
			c := &cairnpb.CompleteUploadCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, UploadId: id, VersionId: g.version()}
			for n := range int32(1 + g.n(2)) {
				c.Parts = append(c.Parts, &cairnpb.CompletedPart{Number: n + 1, Etag: fsmtest.ETag(fmt.Sprint(u, "-", n+1))})
			}
			if g.oneIn(4) {
				c.Condition = &cairnpb.WriteCondition{IfNoneMatch: true}
			}
			if g.oneIn(10) {
				c.VersionId = ""
			}
			return c
		},
		"abort_upload": func(g *fuzzGen) proto.Message {
			bucket, key, id := fuzzUpload(g.n(4))
			return &cairnpb.AbortUploadCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, UploadId: id}
		},
		"set_object_tags": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetObjectTagsCmd{Namespace: fuzzNS, Bucket: g.bucket(), Key: g.key(), Tags: g.tags()}
		},
		"set_bucket_config": func(g *fuzzGen) proto.Message {
			c := &cairnpb.SetBucketConfigCmd{Namespace: fuzzNS, Name: g.anyBucket()}
			gens := bucketConfigGens()
			kinds := slices.Sorted(maps.Keys(gens))
			for range 1 + g.n(2) {
				kind := pick(g, kinds...)
				cfg := gens[kind](g)
				if g.oneIn(5) {
					// Removed: only the kind is named (versioning and object
					// lock refuse it).
					m := cfg.ProtoReflect()
					fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind"))
					m.Set(fd, protoreflect.ValueOfMessage(m.Get(fd).Message().Type().New()))
					cfg.Remove = true
				}
				c.Configs = append(c.Configs, cfg)
			}
			if g.oneIn(20) {
				c.Configs = nil // refused
			}
			return c
		},
		"rename_object": func(g *fuzzGen) proto.Message {
			c := &cairnpb.RenameObjectCmd{Namespace: fuzzNS, Bucket: g.bucket(), Source: g.key(), NewName: g.key()}
			if g.oneIn(4) {
				c.NewNameCondition = &cairnpb.WriteCondition{IfNoneMatch: true}
			}
			return c
		},
		"create_par": func(g *fuzzGen) proto.Message {
			id := g.name("par", 4)
			hash := sha256.Sum256([]byte(id + g.name("t", 2)))
			return &cairnpb.CreatePARCmd{Par: &cairnpb.PAR{Id: id, Namespace: fuzzNS, Bucket: g.anyBucket(), Name: "n",
				ObjectName: g.key(), AccessType: "ObjectRead", ExpiresUnixNano: pick(g, int64(1), 1<<61), Creator: "u", TokenHash: hash[:]}}
		},
		"delete_par": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeletePARCmd{Namespace: fuzzNS, Bucket: g.anyBucket(), Id: g.name("par", 4)}
		},
		"record_work_request": func(g *fuzzGen) proto.Message {
			// A few IDs, so retries and clashes of one ID both happen; old
			// finish times, so the retention prunes.
			finished := int64(1 + g.n(4))
			if g.oneIn(2) {
				finished = int64(g.i+1) * int64(time.Hour)
			}
			w := &cairnpb.WorkRequest{Id: g.name("wr", 6), Namespace: g.ns(), OperationType: "COPY_OBJECT",
				Status: pick(g, "COMPLETED", "FAILED", "IN_PROGRESS"), Compartment: pick(g, "", "c0"), Bucket: g.bucket(),
				AcceptedUnixNano: finished, StartedUnixNano: finished, FinishedUnixNano: finished, PercentComplete: 100,
				Resources: []*cairnpb.WorkRequestResource{{ActionType: "READ", EntityType: "object", EntityUri: "/n/ns0/b/b0/o/k0",
					Metadata: map[string]string{"NAMESPACE": "ns0", "BUCKET": "b0", "OBJECT": "k0"}}}}
			if w.Status == "FAILED" {
				w.Errors = []*cairnpb.WorkRequestError{{Code: "PreconditionFailed", Message: "m", UnixNano: finished}}
			}
			return &cairnpb.WorkRequestRecordCmd{WorkRequest: w}
		},
		"prune_pars": func(g *fuzzGen) proto.Message {
			c := &cairnpb.PrunePARsCmd{}
			switch {
			case g.oneIn(8):
				c.ExpiredBeforeUnixNano = 1 << 62 // after the command's time: refused
			case g.oneIn(2):
				c.ExpiredBeforeUnixNano = 1
			}
			for range 3 {
				c.Pars = append(c.Pars, &cairnpb.DeletePARCmd{Namespace: fuzzNS, Bucket: g.anyBucket(), Id: g.name("par", 4)})
			}
			return c
		},
		"drop_gc": func(g *fuzzGen) proto.Message {
			c := &cairnpb.DropGCCmd{}
			g.read(func(r pebble.Reader) error {
				es, err := ListGC(r, 3)
				for _, e := range es {
					if g.oneIn(2) {
						c.Entries = append(c.Entries, e)
					}
				}
				return err
			})
			if len(c.Entries) == 0 || g.oneIn(4) {
				c.Entries = append(c.Entries, &cairnpb.GCEntry{NodeId: g.node(), ShardId: "s00000.0", EnqueuedUnixNano: 1})
			}
			if g.oneIn(10) {
				c.Entries = append(c.Entries, &cairnpb.GCEntry{NodeId: g.node()})
			}
			return c
		},
		"create_namespace": func(g *fuzzGen) proto.Message {
			return &cairnpb.CreateNamespaceCmd{Namespace: &cairnpb.Namespace{Name: pick(g, g.ns(), g.ns(), g.ns(), "")}}
		},
		"create_user": func(g *fuzzGen) proto.Message {
			return &cairnpb.CreateUserCmd{User: &cairnpb.User{Namespace: g.ns(), Name: pick(g, "u0", "u1", "u2", "")}}
		},
		"delete_user": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeleteUserCmd{Namespace: g.ns(), Name: g.name("u", 3)}
		},
		"create_access_key": func(g *fuzzGen) proto.Message {
			k := &cairnpb.AccessKey{AccessKeyId: g.accessKey(), Namespace: g.ns(), User: g.name("u", 3), Active: true}
			switch g.n(10) {
			case 0: // neither a secret nor a sealed one: invalid
			case 1, 2, 3, 4:
				k.SealedSecret, k.SecretKeyId = g.wrapped(), g.masterKey()
			default:
				k.Secret = fmt.Sprint("secret-", g.i)
			}
			return &cairnpb.CreateAccessKeyCmd{Key: k}
		},
		"set_access_key_active": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetAccessKeyActiveCmd{AccessKeyId: g.accessKey(), Active: g.oneIn(2)}
		},
		"delete_access_key": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeleteAccessKeyCmd{AccessKeyId: g.accessKey()}
		},
		"upload_api_key": func(g *fuzzGen) proto.Message {
			fp := g.name("fp", 5)
			return &cairnpb.UploadAPIKeyCmd{
				Key:           &cairnpb.APIKey{Namespace: g.ns(), User: g.name("u", 3), Fingerprint: fp, PublicKeyPem: "pem " + fp},
				UserOcid:      "ocid1.user.oc1.." + g.name("x", 4),
				NamespaceOcid: pick(g, "ocid1.tenancy.oc1.."+g.name("t", 3), "bad"),
			}
		},
		"delete_api_key": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeleteAPIKeyCmd{Namespace: g.ns(), User: g.name("u", 3), Fingerprint: g.name("fp", 5)}
		},
		"set_master_key": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetMasterKeyCmd{KeyId: pick(g, g.masterKey(), g.masterKey(), g.masterKey(), "")}
		},
		"rewrap": func(g *fuzzGen) proto.Message {
			c := &cairnpb.RewrapCmd{}
			for range 1 + g.n(2) {
				it := &cairnpb.RewrapItem{OldWrapped: g.wrapped(), NewWrapped: g.wrapped(), NewKeyId: g.masterKey()}
				switch g.n(3) {
				case 0:
					key := g.key()
					id, cur := g.current(g.bucket(), key)
					ref := &cairnpb.RewrapVersionRef{BucketId: id, Key: key, VersionId: "v-none"}
					if cur != nil {
						ref.VersionId = cur.GetVersionId()
						if e := cur.GetEncryption(); e != nil {
							it.OldWrapped = e.GetWrappedKey()
						}
						if ps := cur.GetParts(); len(ps) > 0 && g.oneIn(2) {
							p := ps[g.n(len(ps))]
							ref.PartNumber = p.GetNumber()
							if e := p.GetEncryption(); e != nil {
								it.OldWrapped = e.GetWrappedKey()
							}
						}
					}
					it.Target = &cairnpb.RewrapItem_Version{Version: ref}
				case 1:
					_, _, upload := fuzzUpload(g.n(4))
					it.Target = &cairnpb.RewrapItem_UploadPart{UploadPart: &cairnpb.RewrapUploadPartRef{UploadId: upload, PartNumber: int32(1 + g.n(3))}}
				default:
					if g.oneIn(2) {
						it.OldWrapped = nil // seal a plaintext secret
					}
					it.Target = &cairnpb.RewrapItem_AccessKeyId{AccessKeyId: g.accessKey()}
				}
				c.Items = append(c.Items, it)
			}
			if g.oneIn(10) {
				c.Items[0].NewKeyId = ""
			}
			return c
		},
		"delete_version": func(g *fuzzGen) proto.Message {
			bucket, key := g.bucket(), g.key()
			c := &cairnpb.DeleteVersionCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, VersionId: pick(g, "", "", NullVersionID, "v-none")}
			if _, cur := g.current(bucket, key); cur != nil && g.oneIn(2) {
				c.VersionId = S3VersionID(cur)
			}
			if g.oneIn(2) {
				c.MarkerVersionId = fmt.Sprintf("m%05d", g.i)
			}
			if g.oneIn(10) {
				c.Key = ""
			}
			return c
		},
		"set_version_tags": func(g *fuzzGen) proto.Message {
			bucket, key := g.bucket(), g.key()
			c := &cairnpb.SetVersionTagsCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, VersionId: pick(g, "", NullVersionID), Tags: g.tags()}
			if _, cur := g.current(bucket, key); cur != nil && g.oneIn(2) {
				c.VersionId = S3VersionID(cur)
			}
			return c
		},
		"set_version_lock": func(g *fuzzGen) proto.Message {
			bucket, key := g.bucket(), g.key()
			c := &cairnpb.SetVersionLockCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, VersionId: pick(g, "", NullVersionID), BypassGovernance: g.oneIn(2)}
			if _, cur := g.current(bucket, key); cur != nil && g.oneIn(2) {
				c.VersionId = S3VersionID(cur)
			}
			if g.oneIn(2) {
				// Retentions a few commands long (the log's clock moves 1 ms a command).
				c.Retention = &cairnpb.Retention{Mode: pick(g, "", lockGovernance, lockCompliance), RetainUntilUnixNano: int64(g.i+g.n(20)) * int64(time.Millisecond)}
				if c.Retention.Mode == "" {
					c.Retention.RetainUntilUnixNano = 0
				}
			}
			if c.Retention == nil || g.oneIn(2) {
				c.LegalHold = proto.Bool(g.oneIn(2))
			}
			return c
		},
		"set_lifecycle_progress": func(g *fuzzGen) proto.Message {
			bucket := g.bucket()
			c := &cairnpb.SetLifecycleProgressCmd{Namespace: fuzzNS, Bucket: bucket, Progress: &cairnpb.LifecycleProgress{}}
			g.read(func(r pebble.Reader) error {
				bk, err := GetBucket(r, fuzzNS, bucket)
				if errors.Is(err, rpcerr.ErrBucketNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				c.BucketId = bk.GetId()
				c.Progress.Generation = bk.GetLifecycle().GetGeneration()
				for range LifecycleActions * len(bk.GetLifecycle().GetRules()) {
					c.Progress.Cursors = append(c.Progress.Cursors, []byte(g.name("cursor", 3)))
				}
				return nil
			})
			if g.oneIn(5) {
				c.Progress.Generation++ // another configuration's: refused
			}
			return c
		},
		"lifecycle_expire": func(g *fuzzGen) proto.Message {
			bucket, key := g.bucket(), g.key()
			c := &cairnpb.LifecycleExpireCmd{Namespace: fuzzNS, Bucket: bucket, Key: key, VersionId: g.version(),
				Action: cairnpb.LifecycleExpireCmd_Action(g.n(4))}
			g.read(func(r pebble.Reader) error {
				bk, err := GetBucket(r, fuzzNS, bucket)
				if errors.Is(err, rpcerr.ErrBucketNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				vs, err := KeyVersions(r, bk.GetId(), key)
				if len(vs) > 0 {
					c.VersionId = vs[g.n(len(vs))].GetVersionId()
				}
				return err
			})
			return c
		},
		"create_compartment": func(g *fuzzGen) proto.Message {
			name := pick(g, "c0", "c1", "c2", "bad name")
			return &cairnpb.CreateCompartmentCmd{Compartment: &cairnpb.Compartment{Namespace: g.ns(), Name: name, Parent: pick(g, "", "root", "c0", "c1", "c2"),
				Ocid: g.iamOCID(OCIDCompartment)}}
		},
		"set_s3_compartment": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetS3CompartmentCmd{Namespace: g.ns(), Compartment: pick(g, "root", "c0", "c1", "c2")}
		},
		"create_group": func(g *fuzzGen) proto.Message {
			return &cairnpb.CreateGroupCmd{Group: &cairnpb.Group{Namespace: g.ns(), Name: pick(g, "g0", "g1", "g1", ""), Ocid: g.iamOCID(OCIDGroup)}}
		},
		"set_group_member": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetGroupMemberCmd{Namespace: g.ns(), Group: g.name("g", 2), User: g.name("u", 3), Member: !g.oneIn(3)}
		},
		"create_policy": func(g *fuzzGen) proto.Message {
			st := fmt.Sprintf("Allow group %s to %s objects in compartment %s",
				g.name("g", 2), pick(g, "inspect", "read", "use", "manage"), pick(g, "root", "c0", "c1"))
			if g.oneIn(10) {
				st = "Allow everyone everything"
			}
			return &cairnpb.CreatePolicyCmd{Policy: &cairnpb.Policy{Namespace: g.ns(), Name: g.name("p", 2), Statements: []string{st}}}
		},
		"delete_policy": func(g *fuzzGen) proto.Message {
			return &cairnpb.DeletePolicyCmd{Namespace: g.ns(), Name: g.name("p", 2)}
		},
		"set_node_state": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetNodeStateCmd{NodeId: g.node(), State: pick(g, cairnpb.NodeState_NODE_STATE_ACTIVE,
				cairnpb.NodeState_NODE_STATE_ACTIVE, cairnpb.NodeState_NODE_STATE_DRAINING, cairnpb.NodeState_NODE_STATE_REMOVED, 9)}
		},
		"relocate_shards": func(g *fuzzGen) proto.Message {
			return g.relocate()
		},
		"report_corrupt_shard": func(g *fuzzGen) proto.Message {
			return &cairnpb.ReportCorruptShardCmd{Shard: &cairnpb.CorruptShard{NodeId: pick(g, g.node(), g.node(), g.node(), ""), ShardId: g.name("x", 3) + ".0"}}
		},
		"clear_corrupt_shards": func(g *fuzzGen) proto.Message {
			c := &cairnpb.ClearCorruptShardsCmd{}
			for range 1 + g.n(2) {
				c.Shards = append(c.Shards, &cairnpb.CorruptShard{NodeId: g.node(), ShardId: g.name("x", 3) + ".0"})
			}
			if g.oneIn(10) {
				c.Shards[0].ShardId = ""
			}
			return c
		},
		"set_cluster_id": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetClusterIDCmd{ClusterId: pick(g, "c1", "c1", "c1", "c2", "")}
		},
		"set_inventory_progress": func(g *fuzzGen) proto.Message {
			p := &cairnpb.InventoryProgress{UnitsDone: int64(g.i), ShardsChecked: int64(3 * g.i), Passes: int64(g.n(3))}
			if !g.oneIn(3) {
				p.PassStartedUnixNano = int64(g.i) + 1
			}
			if g.oneIn(2) {
				p.Cursor = []byte(fmt.Sprint("o/", g.i))
			}
			if g.oneIn(10) {
				p.FoundMissing = -1
			}
			return &cairnpb.SetInventoryProgressCmd{Progress: p}
		},
		"set_node_weight": func(g *fuzzGen) proto.Message {
			return &cairnpb.SetNodeWeightCmd{NodeId: g.node(), Weight: pick(g, 0.5, 1, 2, 3, -1, math.NaN())}
		},
	}
}

// relocate moves one shard of a unit that exists now (a current version,
// one of its parts, or a part of an upload in progress) to another node;
// sometimes of a unit that does not exist, or from a node the shard is no
// longer on.
func (g *fuzzGen) relocate() *cairnpb.RelocateShardsCmd {
	c := &cairnpb.RelocateShardsCmd{Key: g.key(), VersionId: "v-none"}
	var base string
	var locs []*cairnpb.ShardLocation
	if g.oneIn(3) {
		u := g.n(4)
		_, _, id := fuzzUpload(u)
		c.UploadId, c.PartNumber = id, int32(1+g.n(3))
		g.read(func(r pebble.Reader) error {
			up := &cairnpb.UploadedPart{}
			ok, err := GetProto(r, PartKey(id, c.GetPartNumber()), up)
			if ok {
				c.VersionId, base, locs = up.GetPart().GetShardBase(), up.GetPart().GetShardBase(), up.GetPart().GetShards()
			}
			return err
		})
	} else {
		id, cur := g.current(g.bucket(), c.GetKey())
		c.BucketId = id
		if cur != nil {
			c.VersionId, base, locs = cur.GetVersionId(), cur.GetVersionId(), cur.GetShards()
			if ps := cur.GetParts(); len(ps) > 0 {
				p := ps[g.n(len(ps))]
				c.PartNumber, base, locs = p.GetNumber(), p.GetShardBase(), p.GetShards()
			}
		}
	}
	mv := &cairnpb.ShardMove{Index: 0, OldNodeId: g.node(), NewNodeId: g.name("n", 4), ShardId: "s-none.0"}
	if len(locs) > 0 {
		l := locs[g.n(len(locs))]
		mv.Index, mv.ShardId = l.GetIndex(), ShardID(base, l.GetIndex())
		if !g.oneIn(4) {
			mv.OldNodeId = l.GetNodeId()
		}
	}
	c.Moves = []*cairnpb.ShardMove{mv}
	if g.oneIn(10) {
		c.Moves = nil
	}
	return c
}

// fuzzCheckpoint is how many entries apart the states of the two FSMs are
// compared, besides at the end: a nondeterministic write that a later
// entry overwrites shows in an earlier state.
const fuzzCheckpoint = 50

// fuzzRun is a generated log with the answers of the FSM it was applied
// to entry by entry, and that FSM's state every fuzzCheckpoint entries.
type fuzzRun struct {
	ref    *FSM
	logs   []*raft.Log
	resps  []any
	fields []protoreflect.Name // the kind of each entry
	states map[int][32]byte    // entries applied -> digest of the state
}

// stateDigest digests the whole state of f.
func stateDigest(t testing.TB, f *FSM) [32]byte {
	t.Helper()
	return sha256.Sum256([]byte(fmt.Sprint(dumpStore(t, f.Store))))
}

// generateFuzzLog draws n commands, each of a kind picked from the
// registry, and applies each to a fresh FSM as soon as it is drawn.
func generateFuzzLog(t testing.TB, seed uint64, n int) *fuzzRun {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	rows, gens := commandRows(), fuzzGenerators()
	run := &fuzzRun{ref: newTestFSM(t), states: map[int][32]byte{}}
	c := newDedupeLog()
	g := &fuzzGen{t: t, rng: rng, ref: run.ref}
	unchecked := map[protoreflect.Name]bool{}
	for _, row := range rows {
		unchecked[row.field] = true
	}
	for i := range n {
		g.i = i
		row := rows[rng.IntN(len(rows))]
		gen := gens[row.field]
		if gen == nil {
			t.Fatalf("no fuzz generator for command %q", row.field)
		}
		payload := gen(g)
		var l *raft.Log
		if rng.IntN(4) == 0 {
			// A request ID from a small pool: some repeat, some are stale.
			age := pick(g, 0, time.Second, 90*time.Second, staleWindow+time.Second)
			l = addReq(t, c, payload, testRequestID(rng.IntN(24)), age)
		} else {
			l = c.add(t, payload)
		}
		if i%200 == 199 {
			c.now += int64(time.Minute) // let request records expire
		}
		var before []kv
		if unchecked[row.field] {
			before = dumpStore(t, run.ref.Store)
		}
		resp := run.ref.Apply(l)
		if err, _ := resp.(error); resp != nil && (!IsRefusal(err) || RefusalReason(err) == "") {
			t.Fatalf("entry %d (%s): answer %#v is neither nil nor a refusal", l.Index, row.field, resp)
		}
		if resp != nil && unchecked[row.field] {
			if after := dumpStore(t, run.ref.Store); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("entry %d (%s) was refused (%v) but changed the state", l.Index, row.field, resp)
			}
			delete(unchecked, row.field)
		}
		run.logs = append(run.logs, l)
		run.resps = append(run.resps, resp)
		run.fields = append(run.fields, row.field)
		if len(run.logs)%fuzzCheckpoint == 0 {
			run.states[len(run.logs)] = stateDigest(t, run.ref)
		}
	}
	return run
}

// checkBatched applies the run's log to a fresh FSM in random batches of
// 1..maxBatch entries, some with a configuration entry mixed in, and fails
// unless every answer, the state at every checkpoint and the final state
// equal the run's.
func (run *fuzzRun) checkBatched(t testing.TB, rng *rand.Rand, maxBatch int) {
	t.Helper()
	batched := newTestFSM(t)
	var resps []any
	for i := 0; i < len(run.logs); {
		next := (i/fuzzCheckpoint + 1) * fuzzCheckpoint // batches end at checkpoints
		j := min(len(run.logs), i+1+rng.IntN(maxBatch), next)
		batch := run.logs[i:j:j]
		config := rng.IntN(3) == 0
		if config {
			batch = append([]*raft.Log{{Type: raft.LogConfiguration}}, batch...)
		}
		got := batched.ApplyBatch(batch)
		if config {
			if got[0] != nil {
				t.Fatalf("configuration entry answered %v", got[0])
			}
			got = got[1:]
		}
		resps = append(resps, got...)
		if want, ok := run.states[j]; ok && stateDigest(t, batched) != want {
			t.Fatalf("states differ after entry %d", j)
		}
		i = j
	}
	for i := range run.resps {
		if fmt.Sprint(run.resps[i]) != fmt.Sprint(resps[i]) {
			t.Fatalf("entry %d (%s): %v one by one, %v batched", i+1, run.fields[i], run.resps[i], resps[i])
		}
	}
	a, b := dumpStore(t, run.ref.Store), dumpStore(t, batched.Store)
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("states differ: %d keys one by one, %d batched", len(a), len(b))
	}
}

// Every registry row has a generator, and every generator a row.
func TestFuzzGeneratorsCoverRegistry(t *testing.T) {
	gens := fuzzGenerators()
	for _, row := range commandRows() {
		if gens[row.field] == nil {
			t.Errorf("command %q has no generator in fuzzGenerators", row.field)
		}
		delete(gens, row.field)
	}
	for field := range gens {
		t.Errorf("generator %q names no registry row", field)
	}
}

// TestFSMDeterminism runs the determinism fuzz long enough that every
// kind of command both applies and is refused at least once.
func TestFSMDeterminism(t *testing.T) {
	rows := commandRows()
	run := generateFuzzLog(t, 7, 100*len(rows))
	run.checkBatched(t, rand.New(rand.NewPCG(1, 2)), 64)

	type outcome struct{ ok, refused int }
	byField := map[protoreflect.Name]*outcome{}
	reasons := map[protoreflect.Name][]string{}
	for i, resp := range run.resps {
		o := byField[run.fields[i]]
		if o == nil {
			o = &outcome{}
			byField[run.fields[i]] = o
		}
		if resp == nil {
			o.ok++
			continue
		}
		o.refused++
		r := RefusalReason(resp.(error))
		if !slices.Contains(reasons[run.fields[i]], r) {
			reasons[run.fields[i]] = append(reasons[run.fields[i]], r)
		}
	}
	var lacking []string
	for _, row := range rows {
		o := byField[row.field]
		if o == nil {
			o = &outcome{}
		}
		slices.Sort(reasons[row.field])
		t.Logf("%-22s ok %3d  refused %3d  %s", row.field, o.ok, o.refused, strings.Join(reasons[row.field], " "))
		if o.ok == 0 || o.refused == 0 {
			lacking = append(lacking, fmt.Sprintf("%s (ok %d, refused %d)", row.field, o.ok, o.refused))
		}
	}
	if len(lacking) > 0 {
		t.Fatalf("the fuzz must apply and refuse every kind of command; these lack one: %s", strings.Join(lacking, ", "))
	}
}

// FuzzFSMDeterminism is the determinism fuzz with the seed fuzzed: go
// test runs the seeds below, go test -fuzz=FuzzFSMDeterminism draws more.
func FuzzFSMDeterminism(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		run := generateFuzzLog(t, seed, 400)
		run.checkBatched(t, rand.New(rand.NewPCG(seed, 1)), 32)
	})
}

// bucketConfigGens makes bucket configurations of every kind, one
// generator per BucketConfig.kind field (TestFuzzCoversBucketConfigKinds).
func bucketConfigGens() map[protoreflect.Name]func(g *fuzzGen) *cairnpb.BucketConfig {
	return map[protoreflect.Name]func(g *fuzzGen) *cairnpb.BucketConfig{
		"tags": func(g *fuzzGen) *cairnpb.BucketConfig {
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Tags{Tags: &cairnpb.BucketTagsConfig{Tags: g.tags()}}}
		},
		"cors": func(g *fuzzGen) *cairnpb.BucketConfig {
			c := &cairnpb.BucketCors{}
			for range g.n(3) {
				c.Rules = append(c.Rules, &cairnpb.CorsRule{AllowedOrigins: []string{g.name("https://o", 3)}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: -1})
			}
			if g.oneIn(10) {
				for range maxCorsRules + 1 { // too many: refused
					c.Rules = append(c.Rules, &cairnpb.CorsRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}})
				}
			}
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Cors{Cors: c}}
		},
		"policy": func(g *fuzzGen) *cairnpb.BucketConfig {
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Policy{Policy: &cairnpb.BucketPolicyConfig{
				Document: g.name(`{"Statement":[]}`, 2), Public: g.oneIn(2)}}}
		},
		"public_access_block": func(g *fuzzGen) *cairnpb.BucketConfig {
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_PublicAccessBlock{PublicAccessBlock: &cairnpb.PublicAccessBlock{
				BlockPublicPolicy: g.oneIn(2), RestrictPublicBuckets: g.oneIn(2)}}}
		},
		"versioning": func(g *fuzzGen) *cairnpb.BucketConfig {
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Versioning{Versioning: &cairnpb.BucketVersioningConfig{
				Status: pick(g, VersioningEnabled, VersioningEnabled, VersioningSuspended, "Bogus")}}}
		},
		"object_lock": func(g *fuzzGen) *cairnpb.BucketConfig {
			c := &cairnpb.ObjectLockConfig{}
			if g.oneIn(2) {
				c.DefaultRetention = &cairnpb.DefaultRetention{Mode: pick(g, lockGovernance, lockCompliance, "Bogus"), Days: int32(g.n(3))}
			}
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_ObjectLock{ObjectLock: c}}
		},
		"lifecycle": func(g *fuzzGen) *cairnpb.BucketConfig {
			l := &cairnpb.BucketLifecycle{Xml: []byte("<LifecycleConfiguration/>")}
			for i := range 1 + g.n(2) {
				l.Rules = append(l.Rules, &cairnpb.LifecycleRule{
					Id: fmt.Sprint("r", i), Filter: &cairnpb.LifecycleFilter{Prefix: pick(g, "", "k1")},
					ExpirationDays: int32(g.n(2)), NoncurrentDays: int32(g.n(2)), NewerNoncurrentVersions: int32(g.n(2)),
					ExpiredObjectDeleteMarker: g.oneIn(2), AbortUploadDays: int32(g.n(2)),
				})
			}
			if g.oneIn(10) {
				l.Rules[0].ExpirationDays = -1 // refused
			}
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Lifecycle{Lifecycle: l}}
		},
		"metadata": func(g *fuzzGen) *cairnpb.BucketConfig {
			md := map[string]string{}
			for range g.n(3) {
				md[g.name("m", 4)] = g.name("v", 3)
			}
			if g.oneIn(10) {
				md[""] = "x" // refused
			}
			return &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Metadata{Metadata: &cairnpb.BucketMetadataConfig{Metadata: md}}}
		},
	}
}
