package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/pki"
)

// The in-cluster credentials every Kubernetes pod gets.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// newCertKubeSyncCmd keeps a cluster's PKI in two Kubernetes Secrets: the
// CA (certificate and key) in one, read only by whoever runs this, and the
// CA certificate with every identity's certificate and key, named as in a
// certificate directory, in another that the pods mount. It also makes the
// random secrets a cluster needs (master keyring, admin token, first S3
// key) once. It is the Helm chart's pre-install and pre-upgrade hook;
// running it again issues only what is missing, expiring within a third
// of its validity, or signed by another CA, and never replaces a random
// secret that exists.
func newCertKubeSyncCmd() *cobra.Command {
	var o kubeSyncOptions
	var identities, randoms string
	cmd := &cobra.Command{
		Use:   "kube-sync --ca-secret NAME --secret NAME --identities role/id,...",
		Short: "Make or complete the cluster PKI in Kubernetes Secrets (the Helm chart's hook)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, item := range strings.Split(identities, ",") {
				item = strings.TrimSpace(item)
				if item == "" {
					continue
				}
				role, id, ok := strings.Cut(item, "/")
				r, err := pki.ParseRole(role)
				if !ok || err != nil {
					return fmt.Errorf("--identities: %q is not role/id with role meta, data, gateway or admin", item)
				}
				o.ids = append(o.ids, pki.Identity{Role: r, ID: id})
			}
			var err error
			if o.randoms, err = parseRandomSpecs(randoms); err != nil {
				return err
			}
			if len(o.ids) > 0 && (o.caSecret == "" || o.secret == "") {
				return fmt.Errorf("--identities needs --ca-secret and --secret")
			}
			if len(o.ids) == 0 && len(o.randoms) == 0 {
				return fmt.Errorf("nothing to do: give --identities or --random")
			}
			api, err := inClusterAPI(o.saDir, o.apiURL)
			if err != nil {
				return err
			}
			return kubeSync(cmd.Context(), api, o, time.Now(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.cluster, "cluster", "cairn", "cluster name of a new CA, part of every identity")
	f.StringVar(&o.caSecret, "ca-secret", "", "Secret holding ca.crt and ca.key (made when missing)")
	f.StringVar(&o.secret, "secret", "", "Secret holding ca.crt and <role>-<id>.crt/.key for the pods")
	f.StringVar(&identities, "identities", "", "identities to hold a certificate for, as role/id, comma separated")
	f.StringVar(&randoms, "random", "", "random values to make once, as secret/key:bytes (hex-encoded, 2*bytes digits), comma separated")
	f.DurationVar(&o.validity, "validity", pki.DefaultLeafValidity, "validity of the certificates issued")
	f.StringVar(&o.saDir, "service-account-dir", serviceAccountDir, "where the pod's token, namespace and API CA are")
	f.StringVar(&o.apiURL, "api", "", "Kubernetes API URL (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
	return cmd
}

type kubeSyncOptions struct {
	cluster, caSecret, secret string
	ids                       []pki.Identity
	randoms                   []randomSpec
	validity                  time.Duration
	saDir, apiURL             string
}

// randomSpec is one random value kube-sync makes: bytes random bytes,
// hex-encoded, under key in Secret secret.
type randomSpec struct {
	secret, key string
	bytes       int
}

func parseRandomSpecs(s string) ([]randomSpec, error) {
	var out []randomSpec
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, rest, ok1 := strings.Cut(item, "/")
		key, n, ok2 := strings.Cut(rest, ":")
		bytes, err := strconv.Atoi(n)
		if !ok1 || !ok2 || name == "" || key == "" || err != nil || bytes < 16 || bytes > 1024 {
			return nil, fmt.Errorf("--random: %q is not secret/key:bytes with 16 to 1024 bytes", item)
		}
		out = append(out, randomSpec{secret: name, key: key, bytes: bytes})
	}
	return out, nil
}

// kubeSync makes the random values that are missing, the CA Secret when it
// is missing, and issues into the leaf Secret every identity that lacks a
// good certificate.
func kubeSync(ctx context.Context, api *kubeAPI, o kubeSyncOptions, now time.Time, out io.Writer) error {
	if err := syncRandoms(ctx, api, o.randoms, out); err != nil {
		return err
	}
	if len(o.ids) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "cairn-pki-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	caCert, caKey := pki.CAFiles(dir)
	caSec, err := api.getSecret(ctx, o.caSecret)
	if err != nil {
		return err
	}
	if caSec == nil {
		if _, err := pki.InitDir(dir, o.cluster, 0, now); err != nil {
			return err
		}
		caSec = &kubeSecret{Data: map[string][]byte{}}
		caSec.Metadata.Name = o.caSecret
		for _, f := range []string{caCert, caKey} {
			if caSec.Data[filepath.Base(f)], err = os.ReadFile(f); err != nil {
				return err
			}
		}
		if err := api.putSecret(ctx, caSec); err != nil {
			return err
		}
		fmt.Fprintf(out, "made the CA of cluster %q in Secret %s\n", o.cluster, o.caSecret)
	} else {
		for _, f := range []string{caCert, caKey} {
			if err := pki.WriteFileAtomic(f, caSec.Data[filepath.Base(f)], 0o600); err != nil {
				return err
			}
		}
	}
	ca, err := pki.LoadCA(caCert, caKey)
	if err != nil {
		return fmt.Errorf("CA in Secret %s: %w", o.caSecret, err)
	}
	leaves, err := api.getSecret(ctx, o.secret)
	if err != nil {
		return err
	}
	if leaves == nil {
		leaves = &kubeSecret{}
		leaves.Metadata.Name = o.secret
	}
	if leaves.Data == nil {
		leaves.Data = map[string][]byte{}
	}
	changed := !bytes.Equal(leaves.Data["ca.crt"], ca.CertPEM)
	leaves.Data["ca.crt"] = ca.CertPEM
	issued := 0
	for _, id := range o.ids {
		id.Cluster = ca.Cluster
		if err := id.Validate(); err != nil {
			return err
		}
		c, k := pki.LeafFiles(dir, id)
		cn, kn := filepath.Base(c), filepath.Base(k)
		if leafGood(leaves.Data[cn], leaves.Data[kn], ca, id, now) {
			continue
		}
		leaf, err := ca.Issue(id, nil, o.validity, now)
		if err != nil {
			return err
		}
		leaves.Data[cn], leaves.Data[kn] = leaf.CertPEM, leaf.KeyPEM
		issued++
		changed = true
	}
	if changed {
		if err := api.putSecret(ctx, leaves); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Secret %s: %d certificates issued, %d kept\n", o.secret, issued, len(o.ids)-issued)
	return nil
}

// syncRandoms adds each missing random value to its Secret; existing
// values are never replaced (a new master keyring would make every object
// unreadable).
func syncRandoms(ctx context.Context, api *kubeAPI, specs []randomSpec, out io.Writer) error {
	var names []string
	bySecret := map[string][]randomSpec{}
	for _, sp := range specs {
		if _, ok := bySecret[sp.secret]; !ok {
			names = append(names, sp.secret)
		}
		bySecret[sp.secret] = append(bySecret[sp.secret], sp)
	}
	for _, name := range names {
		sec, err := api.getSecret(ctx, name)
		if err != nil {
			return err
		}
		if sec == nil {
			sec = &kubeSecret{}
			sec.Metadata.Name = name
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		made := 0
		for _, sp := range bySecret[name] {
			if len(sec.Data[sp.key]) > 0 {
				continue
			}
			raw := make([]byte, sp.bytes)
			if _, err := rand.Read(raw); err != nil {
				return fmt.Errorf("random %s/%s: %w", name, sp.key, err)
			}
			sec.Data[sp.key] = []byte(hex.EncodeToString(raw))
			made++
		}
		if made == 0 {
			continue
		}
		if err := api.putSecret(ctx, sec); err != nil {
			return err
		}
		fmt.Fprintf(out, "Secret %s: %d random values made\n", name, made)
	}
	return nil
}

// leafGood reports whether a stored certificate and key can stay: they
// parse and match, carry id, chain to ca and have more than a third of
// their validity left.
func leafGood(certPEM, keyPEM []byte, ca *pki.CA, id pki.Identity, now time.Time) bool {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil || len(pair.Certificate) == 0 {
		return false
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || c.CheckSignatureFrom(ca.Cert) != nil {
		return false
	}
	if got, err := pki.IdentityOf(c); err != nil || got != id {
		return false
	}
	return c.NotAfter.Sub(now) > c.NotAfter.Sub(c.NotBefore)/3
}

// kubeAPI is the part of the Kubernetes API kube-sync needs: get, create
// and replace a Secret in one namespace.
type kubeAPI struct {
	base      string
	namespace string
	token     string
	client    *http.Client
}

// inClusterAPI reaches the API server with the pod's service account.
func inClusterAPI(saDir, apiURL string) (*kubeAPI, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(saDir, name))
		if err != nil {
			return nil, fmt.Errorf("service account: %w (kube-sync runs in a pod)", err)
		}
		return b, nil
	}
	token, err := read("token")
	if err != nil {
		return nil, err
	}
	ns, err := read("namespace")
	if err != nil {
		return nil, err
	}
	caPEM, err := read("ca.crt")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("service account: no certificate in %s", filepath.Join(saDir, "ca.crt"))
	}
	if apiURL == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			return nil, fmt.Errorf("KUBERNETES_SERVICE_HOST and _PORT are unset: give --api")
		}
		apiURL = "https://" + net.JoinHostPort(host, port)
	}
	return &kubeAPI{
		base: strings.TrimSuffix(apiURL, "/"), namespace: strings.TrimSpace(string(ns)),
		token: strings.TrimSpace(string(token)),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		}},
	}, nil
}

// kubeSecret is the part of a v1 Secret kube-sync reads and writes.
type kubeSecret struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace,omitempty"`
		ResourceVersion string            `json:"resourceVersion,omitempty"`
		Labels          map[string]string `json:"labels,omitempty"`
		Annotations     map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Type string            `json:"type,omitempty"`
	Data map[string][]byte `json:"data,omitempty"`
}

func (k *kubeAPI) secretURL(name string) string {
	u := k.base + "/api/v1/namespaces/" + k.namespace + "/secrets"
	if name != "" {
		u += "/" + name
	}
	return u
}

func (k *kubeAPI) do(ctx context.Context, method, url string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	return resp, nil
}

// errKubeAPI marks an answer of the API server other than the one wanted.
var errKubeAPI = errors.New("kubernetes API")

func apiError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Errorf("%w: %s %s: %s: %s", errKubeAPI, resp.Request.Method, resp.Request.URL.Path, resp.Status, bytes.TrimSpace(b))
}

// getSecret returns the Secret, or nil when there is none.
func (k *kubeAPI) getSecret(ctx context.Context, name string) (*kubeSecret, error) {
	resp, err := k.do(ctx, http.MethodGet, k.secretURL(name), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil, nil
	case http.StatusOK:
		var s kubeSecret
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			return nil, fmt.Errorf("Secret %s: %w", name, err)
		}
		return &s, nil
	}
	return nil, apiError(resp)
}

// putSecret creates s, or replaces it when it was read from the API (it
// has a resourceVersion, so a concurrent change makes this fail).
func (k *kubeAPI) putSecret(ctx context.Context, s *kubeSecret) error {
	s.APIVersion, s.Kind, s.Type = "v1", "Secret", "Opaque"
	s.Metadata.Namespace = k.namespace
	if s.Metadata.Labels == nil {
		s.Metadata.Labels = map[string]string{}
	}
	s.Metadata.Labels["app.kubernetes.io/managed-by"] = "cairnctl"
	method, url, want := http.MethodPost, k.secretURL(""), http.StatusCreated
	if s.Metadata.ResourceVersion != "" {
		method, url, want = http.MethodPut, k.secretURL(s.Metadata.Name), http.StatusOK
	}
	resp, err := k.do(ctx, method, url, s)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return apiError(resp)
	}
	return nil
}

// secretKeys lists a Secret's keys, sorted (for messages and tests).
func secretKeys(s *kubeSecret) []string {
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
