package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// selfSignedLeaf makes a certificate that carries a well-formed Cairn
// identity but is signed by its own key.
func selfSignedLeaf(t *testing.T, id pki.Identity) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		URIs:        []*url.URL{id.URI()}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// foreignLeaf is a leaf for id from a CA of its own, with the same cluster
// name as the test cluster's.
func foreignLeaf(t *testing.T, id pki.Identity) tls.Certificate {
	t.Helper()
	ca, _, err := pki.NewCA(harness.ClusterName, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id.Cluster = harness.ClusterName
	leaf, err := ca.Issue(id, nil, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// rawTLS dials addr presenting cert (none when nil) without checking the
// server, and reports whether the server let the connection through: TLS
// 1.3 finishes the client's side of the handshake before the server has
// judged the client's certificate, so the verdict is what the first read
// returns. Raft's first move is the client's, so a live connection just
// times out on that read.
func rawTLS(addr string, cert *tls.Certificate) error {
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// grpcAs dials addr with the given TLS client configuration (plaintext
// when nil).
func grpcAs(t *testing.T, addr string, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if cfg != nil {
		creds = credentials.NewTLS(cfg)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Errorf("%s: got %v, want %s", what, err, want)
	}
}

// TestInternalPortsRefuseStrangers: on every meta gRPC, data gRPC and Raft
// port, a client without a certificate, with a self-signed one, with one
// from another CA, or speaking plaintext gets nothing done.
func TestInternalPortsRefuseStrangers(t *testing.T) {
	c := startCluster(t, harness.Options{Metas: 3, Datas: 6})
	gw := pki.Identity{Role: pki.RoleGateway, ID: "gateway-1"}
	self := selfSignedLeaf(t, pki.Identity{Cluster: harness.ClusterName, Role: pki.RoleGateway, ID: "gateway-1"})
	other := foreignLeaf(t, gw)
	strangers := []struct {
		name string
		cfg  *tls.Config // nil: plaintext
	}{
		{"no certificate", &tls.Config{InsecureSkipVerify: true}},
		{"self-signed", &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{self}}},
		{"another CA", &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{other}}},
		{"plaintext", nil},
	}
	ctx := func() context.Context { return ctxT(t, 10*time.Second) }
	for _, s := range strangers {
		for i, addr := range c.MetaAddrs {
			m := cairnpb.NewMetaClient(grpcAs(t, addr, s.cfg))
			_, err := m.LookupAccessKey(ctx(), &cairnpb.LookupAccessKeyRequest{AccessKeyId: c.AccessKey})
			// The meta port admits a TLS client without a certificate (for
			// cairnctl with the admin token) but authorizes none of its
			// Meta calls; every other stranger fails the handshake.
			want := codes.Unavailable
			if s.name == "no certificate" {
				want = codes.Unauthenticated
			}
			wantCode(t, fmt.Sprintf("%s: LookupAccessKey on meta-%d", s.name, i+1), err, want)
			_, err = m.CreateBucket(ctx(), &cairnpb.CreateBucketRequest{Namespace: "default", Name: "planted"})
			wantCode(t, fmt.Sprintf("%s: CreateBucket on meta-%d", s.name, i+1), err, want)
			_, err = cairnpb.NewAdminClient(grpcAs(t, addr, s.cfg)).Status(ctx(), &cairnpb.StatusRequest{})
			wantCode(t, fmt.Sprintf("%s: Admin.Status on meta-%d", s.name, i+1), err, want)
		}
		for _, d := range c.Datas {
			dc := cairnpb.NewDataClient(grpcAs(t, d.Addr, s.cfg))
			_, err := dc.Health(ctx(), &cairnpb.HealthRequest{})
			wantCode(t, fmt.Sprintf("%s: Health on %s", s.name, d.Name), err, codes.Unavailable)
			_, err = dc.DeleteShard(ctx(), &cairnpb.DeleteShardRequest{ShardId: "x.0"})
			wantCode(t, fmt.Sprintf("%s: DeleteShard on %s", s.name, d.Name), err, codes.Unavailable)
		}
		for _, p := range c.Metas {
			addr := p.MetaRaftAddr()
			var err error
			switch {
			case s.cfg == nil:
				// A plaintext Raft RPC: the server reads it as a TLS
				// record, fails, and closes the connection.
				err = plainRaftProbe(addr)
			default:
				var cert *tls.Certificate
				if len(s.cfg.Certificates) > 0 {
					cert = &s.cfg.Certificates[0]
				}
				err = rawTLS(addr, cert)
			}
			if err == nil || isTimeout(err) {
				t.Errorf("%s: the Raft port of %s let the connection through (%v)", s.name, p.Name, err)
			}
		}
	}
	// The refusals are the certificates' fault, not a broken port: the
	// cluster's own identities get through.
	if err := rawTLS(c.Metas[0].MetaRaftAddr(), leafOf(t, c, pki.RoleMeta, "meta-1")); !isTimeout(err) {
		t.Fatalf("meta-1's own certificate on the Raft port: %v, want a live connection", err)
	}
	if _, err := cairnpb.NewDataClient(grpcAs(t, c.Datas[0].Addr, nil)).Health(ctx(), &cairnpb.HealthRequest{}); err == nil {
		t.Fatal("plaintext Health succeeded")
	}
	probe := c.Transport(t, pki.RoleGateway, "probe")
	if _, err := cairnpb.NewDataClient(dialWith(t, c.Datas[0].Addr, probe.Dial(pki.RoleData))).Health(ctx(), &cairnpb.HealthRequest{}); err != nil {
		t.Fatalf("a gateway certificate of the cluster: Health: %v", err)
	}
	// Nothing the strangers tried left a trace.
	st, err := c.Status(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.GetLeaderId() == "" {
		t.Fatal("no leader after the probes")
	}
	if _, err := client(c).HeadBucket(ctxT(t, 30*time.Second), &s3.HeadBucketInput{Bucket: aws.String("planted")}); err == nil {
		t.Fatal("bucket \"planted\" exists")
	}
}

// plainRaftProbe sends bytes that are not TLS to a Raft port and reports
// what came back.
func plainRaftProbe(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0x00, 0x81, 0xa2, 'I', 'D'}); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 64))
	return err
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	return ok && te.Timeout()
}

// leafOf returns the certificate of role/id issued from c's CA.
func leafOf(t *testing.T, c *harness.Cluster, role pki.Role, id string) *tls.Certificate {
	t.Helper()
	c.Transport(t, role, id) // issues it when missing
	certFile, keyFile := pki.LeafFiles(c.CertDir, pki.Identity{Role: role, ID: id})
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

func dialWith(t *testing.T, addr string, opt grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestInternalRolesEnforced: certificates of the cluster's own CA are
// refused every call their role does not allow, a data node speaks only
// for itself, and nothing they tried changes stored state.
func TestInternalRolesEnforced(t *testing.T) {
	c := startCluster(t, harness.Options{Metas: 3, Datas: 6})
	cl := client(c)
	mustCreateBucket(t, cl, "guarded")
	body := pattern(91, 300<<10)
	mustPut(t, cl, "guarded", "victim", body)
	v := objectRecord(t, c, "guarded", "victim")
	mapBefore := clusterAddrs(t, c)

	ctx := func() context.Context { return ctxT(t, 10*time.Second) }
	gwT := c.Transport(t, pki.RoleGateway, "rogue-gateway")
	d1T := c.Transport(t, pki.RoleData, "data-1")
	metaAs := func(dial grpc.DialOption) cairnpb.MetaClient {
		return cairnpb.NewMetaClient(dialWith(t, c.MetaAddrs[0], dial))
	}
	asGateway, asData1 := metaAs(gwT.Dial(pki.RoleMeta)), metaAs(d1T.Dial(pki.RoleMeta))
	data2 := c.Data("data-2")
	hijack := &cairnpb.DataNode{Id: "data-2", Addr: c.Data("data-3").Addr, Host: "host-data-2"}

	// A gateway certificate may not act as a data node, delete shards or
	// join Raft.
	_, err := asGateway.RegisterNode(ctx(), &cairnpb.RegisterNodeRequest{Node: hijack})
	wantCode(t, "gateway RegisterNode", err, codes.PermissionDenied)
	_, err = asGateway.Heartbeat(ctx(), &cairnpb.HeartbeatRequest{NodeId: "data-2", CapacityBytes: 1})
	wantCode(t, "gateway Heartbeat", err, codes.PermissionDenied)
	victimShard := v.GetShards()[0]
	holder := c.Data(victimShard.GetNodeId())
	shardID := fmt.Sprintf("%s.%d", v.GetVersionId(), victimShard.GetIndex())
	_, err = cairnpb.NewDataClient(dialWith(t, holder.Addr, gwT.Dial(pki.RoleData))).DeleteShard(ctx(), &cairnpb.DeleteShardRequest{ShardId: shardID})
	wantCode(t, "gateway DeleteShard", err, codes.PermissionDenied)
	if err := rawTLS(c.Metas[0].MetaRaftAddr(), leafOf(t, c, pki.RoleGateway, "rogue-gateway")); err == nil || isTimeout(err) {
		t.Errorf("gateway certificate on the Raft port: let through (%v)", err)
	}

	// A data certificate may not read secrets or touch the object index.
	_, err = asData1.LookupAccessKey(ctx(), &cairnpb.LookupAccessKeyRequest{AccessKeyId: c.AccessKey})
	wantCode(t, "data LookupAccessKey", err, codes.PermissionDenied)
	_, err = asData1.CommitObject(ctx(), &cairnpb.CommitObjectRequest{Namespace: "default", Bucket: "guarded", Version: &cairnpb.ObjectVersion{Key: "victim", VersionId: "forged"}})
	wantCode(t, "data CommitObject", err, codes.PermissionDenied)
	_, err = asData1.DeleteObject(ctx(), &cairnpb.DeleteObjectRequest{Namespace: "default", Bucket: "guarded", Key: "victim"})
	wantCode(t, "data DeleteObject", err, codes.PermissionDenied)
	_, err = asData1.CreateBucket(ctx(), &cairnpb.CreateBucketRequest{Namespace: "default", Name: "planted"})
	wantCode(t, "data CreateBucket", err, codes.PermissionDenied)

	// data-1 speaks only for itself.
	_, err = asData1.RegisterNode(ctx(), &cairnpb.RegisterNodeRequest{Node: hijack})
	wantCode(t, "data-1 RegisterNode as data-2", err, codes.PermissionDenied)
	_, err = asData1.Heartbeat(ctx(), &cairnpb.HeartbeatRequest{NodeId: "data-2", CapacityBytes: 1})
	wantCode(t, "data-1 Heartbeat as data-2", err, codes.PermissionDenied)
	_, err = asData1.ReportCorruptShard(ctx(), &cairnpb.ReportCorruptShardRequest{NodeId: "data-2", ShardId: shardID})
	wantCode(t, "data-1 ReportCorruptShard for data-2", err, codes.PermissionDenied)
	// ... and may for itself: the table is not refusing everything.
	if _, err := asData1.Heartbeat(ctx(), &cairnpb.HeartbeatRequest{NodeId: "data-1", CapacityBytes: 1 << 40}); err != nil {
		t.Fatalf("data-1 Heartbeat as itself: %v", err)
	}
	if _, err := asGateway.GetClusterMap(ctx(), &cairnpb.GetClusterMapRequest{}); err != nil {
		t.Fatalf("gateway GetClusterMap: %v", err)
	}

	// Stored state is as it was.
	if got := clusterAddrs(t, c); got["data-2"] != data2.Addr || len(got) != len(mapBefore) {
		t.Fatalf("cluster map changed: before %v, after %v", mapBefore, got)
	}
	for id, a := range mapBefore {
		if clusterAddrs(t, c)[id] != a {
			t.Fatalf("%s moved from %s", id, a)
		}
	}
	statShard(t, c, holder.Addr, shardID)
	mustGetEqual(t, cl, "guarded", "victim", body)
	if _, err := cl.HeadBucket(ctxT(t, 30*time.Second), &s3.HeadBucketInput{Bucket: aws.String("planted")}); err == nil {
		t.Fatal("bucket \"planted\" exists")
	}
}

// clusterAddrs returns each data node's address in meta's cluster map.
func clusterAddrs(t *testing.T, c *harness.Cluster) map[string]string {
	t.Helper()
	mc := c.MetaClient(t)
	cm, err := metaclient.Meta(ctxT(t, 30*time.Second), mc, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
		return m.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range cm.GetNodes() {
		out[n.GetNode().GetId()] = n.GetNode().GetAddr()
	}
	return out
}

// TestCertificateRotationUnderLoad swaps the cluster CA and every leaf
// while a writer runs: CA bundle old+new, new leaves, bundle new only. No
// request fails beyond the SDK's own retries, and afterwards a leaf of the
// old CA is refused.
func TestCertificateRotationUnderLoad(t *testing.T) {
	c := startCluster(t, harness.Options{Metas: 3, Datas: 6})
	cl := client(c)
	mustCreateBucket(t, cl, "rotate")
	oldGateway := leafOf(t, c, pki.RoleGateway, "gateway-1")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d/%05d", w, i)
				body := pattern(int64(w*100000+i), 200<<10)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := put(ctx, cl, "rotate", key, body)
				if err == nil {
					var got []byte
					got, err = get(ctx, cl, "rotate", key, "")
					if err == nil && string(got) != string(body) {
						err = fmt.Errorf("%s read back differently", key)
					}
				}
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s: %w", key, err))
				} else {
					ok.Add(1)
				}
			}
		}(w)
	}
	settle := func() { time.Sleep(4 * time.Second) } // > the 1 s reload check, with handshakes in between

	settle()
	caFile, caKey := pki.CAFiles(c.CertDir)
	oldCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	newCA, newKey, err := pki.NewCA(harness.ClusterName, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// 1. Trust both CAs everywhere.
	if err := pki.WriteFileAtomic(caFile, append(append([]byte{}, oldCA...), newCA.CertPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	settle()
	// 2. Every leaf re-issued by the new CA (and the CA key replaced, so
	// the harness issues from it from now on).
	leaves, err := filepath.Glob(filepath.Join(c.CertDir, "*-*.crt"))
	if err != nil || len(leaves) < 10 {
		t.Fatalf("leaves in %s: %v %v", c.CertDir, leaves, err)
	}
	for _, f := range leaves {
		old, err := pki.ReadCertificate(f)
		if err != nil {
			t.Fatal(err)
		}
		id, err := pki.IdentityOf(old)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := newCA.Issue(id, []string{"127.0.0.1"}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile := pki.LeafFiles(c.CertDir, id)
		if err := leaf.WriteFiles(certFile, keyFile); err != nil {
			t.Fatal(err)
		}
	}
	if err := pki.WriteFileAtomic(caKey, newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	settle()
	// 3. Trust only the new CA.
	if err := pki.WriteFileAtomic(caFile, newCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	settle()
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 10 {
		t.Fatalf("%d requests failed and %d succeeded during the rotation; first failure: %v", failed.Load(), ok.Load(), firstErr.Load())
	}
	t.Logf("%d PUT+GET pairs succeeded during the rotation", ok.Load())

	// A leaf of the old CA is refused now, on every kind of port...
	oldCfg := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*oldGateway}}
	_, err = cairnpb.NewMetaClient(grpcAs(t, c.MetaAddrs[0], oldCfg)).GetClusterMap(ctxT(t, 10*time.Second), &cairnpb.GetClusterMapRequest{})
	wantCode(t, "old-CA gateway leaf on the meta port", err, codes.Unavailable)
	_, err = cairnpb.NewDataClient(grpcAs(t, c.Datas[0].Addr, oldCfg)).Health(ctxT(t, 10*time.Second), &cairnpb.HealthRequest{})
	wantCode(t, "old-CA gateway leaf on a data port", err, codes.Unavailable)
	// ... while the new one works, and so does a process started now,
	// which makes every connection afresh with the new certificates.
	newGateway := leafOf(t, c, pki.RoleGateway, "gateway-1")
	newCfg := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*newGateway}}
	if _, err := cairnpb.NewMetaClient(grpcAs(t, c.MetaAddrs[0], newCfg)).GetClusterMap(ctxT(t, 10*time.Second), &cairnpb.GetClusterMapRequest{}); err != nil {
		t.Fatalf("new gateway leaf: %v", err)
	}
	_, endpoint := c.StartGateway(t, "gateway-2")
	cl2 := endpointClient(endpoint, c.AccessKey, c.SecretKey)
	body := pattern(7, 1<<20)
	mustPut(t, cl2, "rotate", "after", body)
	mustGetEqual(t, cl, "rotate", "after", body)
}
