package helm

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// fakeAPI stands in for the Kubernetes API server for what the chart's
// pods ask of it: Secrets in one namespace, read, created and replaced,
// each request authorized by the rendered Roles and RoleBindings of the
// caller's service account, as RBAC would. Secrets it receives decode
// strictly into corev1.Secret.
type fakeAPI struct {
	srv *httptest.Server

	mu       sync.Mutex
	secrets  map[string]*corev1.Secret
	version  int
	roles    map[string]*rbacv1.Role
	bindings []*rbacv1.RoleBinding
	refused  []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	a := &fakeAPI{secrets: map[string]*corev1.Secret{}, roles: map[string]*rbacv1.Role{}}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	a.srv.StartTLS()
	t.Cleanup(a.srv.Close)
	return a
}

// apply records the RBAC objects of a rendering, as Helm creating them
// would.
func (a *fakeAPI) apply(objs []object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *rbacv1.Role:
			a.roles[v.Name] = v
		case *rbacv1.RoleBinding:
			a.bindings = append(a.bindings, v)
		}
	}
}

// serviceAccountDir writes what the kubelet mounts into a pod of service
// account sa: a token naming it, the namespace, and the API's CA.
func (a *fakeAPI) serviceAccountDir(t *testing.T, dir, sa string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
	for name, b := range map[string][]byte{"token": []byte("sa:" + sa), "namespace": []byte(namespace), "ca.crt": ca} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// hostPort is where the API listens, for KUBERNETES_SERVICE_HOST and _PORT.
func (a *fakeAPI) hostPort() (string, string) {
	addr := strings.TrimPrefix(a.srv.URL, "https://")
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// secret returns a copy of the Secret's data, or nil.
func (a *fakeAPI) secret(name string) map[string][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.secrets[name]
	if !ok {
		return nil
	}
	out := map[string][]byte{}
	for k, v := range s.Data {
		out[k] = slices.Clone(v)
	}
	return out
}

func (a *fakeAPI) refusals() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.refused)
}

// allowed reports whether RBAC lets service account sa do verb on the
// Secret name ("" for a create, which names no object in its URL).
func (a *fakeAPI) allowed(sa, verb, name string) bool {
	for _, b := range a.bindings {
		subject := slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == namespace
		})
		role := a.roles[b.RoleRef.Name]
		if !subject || b.RoleRef.Kind != "Role" || role == nil {
			continue
		}
		for _, r := range role.Rules {
			if slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "secrets") && slices.Contains(r.Verbs, verb) &&
				(len(r.ResourceNames) == 0 || (name != "" && slices.Contains(r.ResourceNames, name))) {
				return true
			}
		}
	}
	return false
}

func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fail := func(code int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		a.refused = append(a.refused, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL.Path, code, msg))
		http.Error(w, msg, code)
	}
	sa, ok := strings.CutPrefix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "sa:")
	if !ok {
		fail(http.StatusUnauthorized, "no service account token")
		return
	}
	prefix := "/api/v1/namespaces/" + namespace + "/secrets"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		fail(http.StatusNotFound, "the fake API serves only %s", prefix)
		return
	}
	name := strings.TrimPrefix(rest, "/")
	verb := map[string]string{http.MethodGet: "get", http.MethodPost: "create", http.MethodPut: "update"}[r.Method]
	if verb == "" || (verb == "create") != (name == "") {
		fail(http.StatusMethodNotAllowed, "%s on %q", r.Method, r.URL.Path)
		return
	}
	if !a.allowed(sa, verb, name) {
		fail(http.StatusForbidden, "service account %s may not %s secret %q", sa, verb, name)
		return
	}
	if verb == "get" {
		s, ok := a.secrets[name]
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
		return
	}
	var s corev1.Secret
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = yaml.UnmarshalStrict(body, &s)
	}
	if err != nil {
		fail(http.StatusBadRequest, "not a v1 Secret: %v", err)
		return
	}
	old, exists := a.secrets[s.Name]
	switch {
	case verb == "create" && exists:
		fail(http.StatusConflict, "secret %s exists", s.Name)
		return
	case verb == "update" && (!exists || s.Name != name):
		fail(http.StatusNotFound, "no secret %s to replace", name)
		return
	case verb == "update" && s.ResourceVersion != old.ResourceVersion:
		fail(http.StatusConflict, "secret %s: resourceVersion %s, stored %s", name, s.ResourceVersion, old.ResourceVersion)
		return
	}
	a.version++
	s.ResourceVersion = strconv.Itoa(a.version)
	a.secrets[s.Name] = &s
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(map[string]int{"create": http.StatusCreated, "update": http.StatusOK}[verb])
	_ = json.NewEncoder(w).Encode(&s)
}

// TestFakeAPIAuthorizesByTheRenderedRole: the stand-in API server lets the
// secrets hook's service account do what the chart's Role grants, and
// nothing else.
func TestFakeAPIAuthorizesByTheRenderedRole(t *testing.T) {
	ch, _ := loadChart(t)
	objs := renderObjects(t, ch, "")
	a := &fakeAPI{roles: map[string]*rbacv1.Role{}}
	a.apply(objs)
	sa := releaseName + "-secrets-hook"
	for _, c := range []struct {
		sa, verb, name string
		want           bool
	}{
		{sa, "create", "", true},
		{sa, "get", releaseName + "-master-key", true},
		{sa, "update", releaseName + "-internal-tls", true},
		{sa, "get", releaseName + "-internal-ca", true},
		{sa, "get", "someone-elses-secret", false},
		{sa, "update", "someone-elses-secret", false},
		{sa, "delete", releaseName + "-master-key", false},
		{"default", "get", releaseName + "-master-key", false},
	} {
		if got := a.allowed(c.sa, c.verb, c.name); got != c.want {
			t.Errorf("%s may %s secret %q: %v, want %v", c.sa, c.verb, c.name, got, c.want)
		}
	}
}
