package helm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// What localKube assumes of the cluster and the image.
const (
	// clusterDomain is the chart's default clusterDomain value.
	clusterDomain = "cluster.local"
	// The image's binaries (deploy/image); cairn is its entrypoint.
	imageCairn    = "/usr/local/bin/cairn"
	imageCairnctl = "/usr/local/bin/cairnctl"
	// serviceAccountMount is where the kubelet mounts a pod's service
	// account credentials without the pod spec naming it.
	serviceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount"
	// podNet is the loopback /16 the "pods" get their addresses from.
	podNet = "127.42."
)

// localKube runs the pods of a rendering as local processes, doing for
// each what the kubelet, cluster DNS and the API server would:
//
//   - Addresses: every pod gets an address of its own in 127.42.0.0/16
//     (loopback on Linux), handed to cairn as its pod IP through the
//     test network seam (CAIRN_TEST_POD_IP), so ":7201" in two data pods
//     are two sockets. The seam's hosts file (CAIRN_TEST_HOSTS) stands in
//     for cluster DNS: a StatefulSet pod's
//     <pod>.<serviceName>.<namespace>.svc.cluster.local and a ClusterIP
//     Service's <service>.<namespace>.svc.cluster.local (the first ready
//     pod it selects), added as pods start.
//   - Files: localPath is the one mapping from a path inside a container
//     to this machine: each volume mount's path becomes a directory under
//     the test's temporary root holding what the volume would (Secret and
//     ConfigMap keys, projected items, an empty dir, the pod's claim from
//     a volumeClaimTemplate, kept across re-renders like a PVC), and every
//     argument naming a path under a mount is rewritten to it. An
//     argument naming an absolute path no volume mounts is an error. A
//     mount of /tmp becomes TMPDIR. The service account credentials the
//     kubelet mounts unasked are the only files no argument names:
//     `cairnctl cert kube-sync` gets their directory as
//     --service-account-dir.
//   - Environment: only what the container spec gives (values, the
//     downward API's pod name, node name, labels and pod IP, Secret and
//     ConfigMap references, envFrom), plus KUBERNETES_SERVICE_HOST/_PORT
//     and the seam's two variables; nothing leaks in from the test's own
//     environment. Each pod runs on a node of its own ("node-<pod>").
//   - Secrets come from fakeAPI, where the chart's hook Job put them.
type localKube struct {
	t         *testing.T
	root      string
	bins      binaries
	api       *fakeAPI
	hostsFile string

	mu         sync.Mutex
	configMaps map[string]*corev1.ConfigMap
	services   map[string]*corev1.Service
	hosts      map[string]string // DNS name -> pod IP
	pods       map[string]*localPod
	ips        int // pods ever created, each with its own address
	runs       int // one-off pods (Jobs, tests) ever named
}

// oneOff names a one-off pod (a Job's, a test's): prefix and a number no
// earlier one-off pod had.
func (k *localKube) oneOff(prefix string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.runs++
	return fmt.Sprintf("%s-%d", prefix, k.runs)
}

// localPod is one running (or finished) pod.
type localPod struct {
	name, ip string
	labels   map[string]string
	spec     *corev1.PodSpec
	claims   []string // volumeClaimTemplate names
	log      string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error // set before done closes
}

func newLocalKube(t *testing.T, bins binaries) *localKube {
	t.Helper()
	k := &localKube{
		t: t, root: t.TempDir(), bins: bins, api: newFakeAPI(t),
		configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{},
		hosts: map[string]string{}, pods: map[string]*localPod{},
	}
	k.hostsFile = filepath.Join(k.root, "hosts")
	k.writeHosts()
	t.Cleanup(k.stopAll)
	t.Cleanup(func() {
		if t.Failed() {
			k.dumpLogs()
		}
	})
	return k
}

// apply takes the ConfigMaps, Services and RBAC objects of a rendering,
// as `helm install` or `upgrade` creating them would.
func (k *localKube) apply(objs []object) {
	k.api.apply(objs)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.ConfigMap:
			k.configMaps[v.Name] = v
		case *corev1.Service:
			k.services[v.Name] = v
		}
	}
}

func (k *localKube) writeHosts() {
	var b strings.Builder
	names := make([]string, 0, len(k.hosts))
	for n := range k.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", k.hosts[n], n)
	}
	tmp := k.hostsFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Rename(tmp, k.hostsFile); err != nil {
		k.t.Fatal(err)
	}
}

// publish adds the pod's DNS names: its own under a StatefulSet's
// Service, and every ClusterIP Service that selects it and has no pod yet.
func (k *localKube) publish(p *localPod, subdomain string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if subdomain != "" {
		k.hosts[fmt.Sprintf("%s.%s.%s.svc.%s", p.name, subdomain, namespace, clusterDomain)] = p.ip
	}
	for _, s := range k.services {
		name := fmt.Sprintf("%s.%s.svc.%s", s.Name, namespace, clusterDomain)
		if s.Spec.ClusterIP == corev1.ClusterIPNone || len(s.Spec.Selector) == 0 || k.hosts[name] != "" {
			continue
		}
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.labels)) {
			continue
		}
		// The name maps to the pod, so the Service's ports must be the
		// container's.
		for _, sp := range s.Spec.Ports {
			c := p.spec.Containers[0]
			i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == sp.TargetPort.String() || strconv.Itoa(int(cp.ContainerPort)) == sp.TargetPort.String()
			})
			if i < 0 || c.Ports[i].ContainerPort != sp.Port {
				k.t.Fatalf("Service %s port %d (target %s) is not a port of pod %s: localKube maps names, not ports", s.Name, sp.Port, sp.TargetPort.String(), p.name)
			}
		}
		k.hosts[name] = p.ip
	}
	k.writeHosts()
}

// newPod allocates a pod and its address.
func (k *localKube) newPod(name string, lbls map[string]string, spec *corev1.PodSpec, claims []string) *localPod {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, dup := k.pods[name]; dup {
		k.t.Fatalf("pod %s exists already", name)
	}
	k.ips++
	p := &localPod{
		name: name, ip: fmt.Sprintf("%s%d.%d", podNet, k.ips/250, k.ips%250+2), labels: lbls, spec: spec, claims: claims,
		log: filepath.Join(k.root, "logs", name+".log"), done: make(chan struct{}),
	}
	k.pods[name] = p
	return p
}

// startStatefulSetPod starts ordinal i of a StatefulSet.
func (k *localKube) startStatefulSetPod(s *appsv1.StatefulSet, i int) *localPod {
	var claims []string
	for _, c := range s.Spec.VolumeClaimTemplates {
		claims = append(claims, c.Name)
	}
	name := fmt.Sprintf("%s-%d", s.Name, i)
	lbls := map[string]string{"statefulset.kubernetes.io/pod-name": name}
	for k, v := range s.Spec.Template.Labels {
		lbls[k] = v
	}
	p := k.newPod(name, lbls, &s.Spec.Template.Spec, claims)
	k.publish(p, s.Spec.ServiceName)
	k.startServer(p)
	return p
}

// startDeploymentPod starts replica i of a Deployment.
func (k *localKube) startDeploymentPod(d *appsv1.Deployment, i int) *localPod {
	p := k.newPod(deploymentPodName(d, i), d.Spec.Template.Labels, &d.Spec.Template.Spec, nil)
	k.startServer(p)
	return p
}

// deploymentPodName is the name of the Deployment's i-th pod.
func deploymentPodName(d *appsv1.Deployment, i int) string {
	return fmt.Sprintf("%s-6c9d7f8b5-r%04d", d.Name, i)
}

// startServer runs the pod's init containers to completion and starts its
// one long-running container.
func (k *localKube) startServer(p *localPod) {
	k.t.Helper()
	for _, c := range p.spec.InitContainers {
		k.runToCompletion(p, c)
	}
	if len(p.spec.Containers) != 1 {
		k.t.Fatalf("pod %s has %d containers; localKube runs one", p.name, len(p.spec.Containers))
	}
	bin, args, env := k.prepare(p, p.spec.Containers[0])
	if err := os.MkdirAll(filepath.Dir(p.log), 0o755); err != nil {
		k.t.Fatal(err)
	}
	f, err := os.Create(p.log)
	if err != nil {
		k.t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, f, f
	dieWithTest(p.cmd)
	if err := p.cmd.Start(); err != nil {
		k.t.Fatalf("pod %s: %v", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
}

// runPod runs a Job's or a test hook's pod to completion: init containers
// in order, then its containers in order, each of which must succeed. It
// returns each container's output.
func (k *localKube) runPod(name string, spec *corev1.PodSpec, lbls map[string]string) map[string]string {
	k.t.Helper()
	p := k.newPod(name, lbls, spec, nil)
	out := map[string]string{}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		out[c.Name] = k.runToCompletion(p, c)
	}
	close(p.done)
	return out
}

func (k *localKube) runToCompletion(p *localPod, c corev1.Container) string {
	k.t.Helper()
	bin, args, env := k.prepare(p, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	dieWithTest(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		k.t.Fatalf("pod %s container %s (%s %q): %v\n%s", p.name, c.Name, filepath.Base(bin), args, err, out)
	}
	return string(out)
}

// runJob runs a Job's pod to completion.
func (k *localKube) runJob(j *batchv1.Job) map[string]string {
	k.t.Helper()
	return k.runPod(k.oneOff(j.Name), &j.Spec.Template.Spec, j.Spec.Template.Labels)
}

// prepare turns a container of p into a local command line and
// environment.
func (k *localKube) prepare(p *localPod, c corev1.Container) (string, []string, []string) {
	k.t.Helper()
	env := k.containerEnv(p, c)
	mounts := k.mounts(p, c)
	bin, args := imageCairn, slices.Clone(c.Args)
	if len(c.Command) > 0 {
		bin, args = c.Command[0], append(slices.Clone(c.Command[1:]), args...)
	}
	local := map[string]string{imageCairn: k.bins.cairn, imageCairnctl: k.bins.cairnctl}[bin]
	if local == "" {
		k.t.Fatalf("pod %s container %s runs %s, not a binary of the image", p.name, c.Name, bin)
	}
	for i, a := range args {
		a, missing := expandVars(a, env)
		if len(missing) > 0 {
			k.t.Fatalf("pod %s container %s: %q refers to $(%s), not in its env", p.name, c.Name, args[i], strings.Join(missing, ", $("))
		}
		if args[i] = localPath(mounts, a); strings.Contains(args[i], "=/") && !strings.Contains(args[i], "="+k.root) {
			k.t.Fatalf("pod %s container %s: %q names a path no volume mounts", p.name, c.Name, args[i])
		}
	}
	if dir, ok := mounts[serviceAccountMount]; ok && slices.Contains(args, "kube-sync") {
		args = append(args, "--service-account-dir="+dir)
	}
	host, port := k.api.hostPort()
	out := []string{
		"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port,
		"CAIRN_TEST_HOSTS=" + k.hostsFile, "CAIRN_TEST_POD_IP=" + p.ip,
		"HOME=" + filepath.Join(k.root, "pods", p.name),
	}
	if tmp, ok := mounts["/tmp"]; ok {
		out = append(out, "TMPDIR="+tmp)
	}
	for name, v := range env {
		out = append(out, name+"="+v)
	}
	return local, args, out
}

// localPath rewrites every path under a mount in arg to its local
// directory, in one pass (a rewritten path is never rewritten again), the
// longest mount path matching at each place.
func localPath(mounts map[string]string, arg string) string {
	paths := make([]string, 0, len(mounts))
	for m := range mounts {
		paths = append(paths, regexp.QuoteMeta(m))
	}
	if len(paths) == 0 {
		return arg
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	re := regexp.MustCompile(`(^|[=,:])(` + strings.Join(paths, "|") + `)(/|$|,)`)
	return re.ReplaceAllStringFunc(arg, func(m string) string {
		g := re.FindStringSubmatch(m)
		return g[1] + mounts[g[2]] + g[3]
	})
}

// containerEnv resolves a container's environment as the kubelet does.
func (k *localKube) containerEnv(p *localPod, c corev1.Container) map[string]string {
	k.t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			k.t.Fatalf("pod %s: envFrom other than a ConfigMap", p.name)
		}
		cm := k.configMaps[from.ConfigMapRef.Name]
		if cm == nil {
			k.t.Fatalf("pod %s: envFrom ConfigMap %s was not rendered", p.name, from.ConfigMapRef.Name)
		}
		for key, v := range cm.Data {
			env[from.Prefix+key] = v
		}
	}
	fieldLabel := regexp.MustCompile(`^metadata\.labels\['([^']+)'\]$`)
	for _, e := range c.Env {
		switch f := e.ValueFrom; {
		case f == nil:
			env[e.Name] = e.Value
		case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = p.name
		case f.FieldRef != nil && f.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = "node-" + p.name
		case f.FieldRef != nil && f.FieldRef.FieldPath == "status.podIP":
			env[e.Name] = p.ip
		case f.FieldRef != nil && fieldLabel.MatchString(f.FieldRef.FieldPath):
			env[e.Name] = p.labels[fieldLabel.FindStringSubmatch(f.FieldRef.FieldPath)[1]]
		case f.SecretKeyRef != nil:
			v, ok := k.api.secret(f.SecretKeyRef.Name)[f.SecretKeyRef.Key]
			if !ok {
				k.t.Fatalf("pod %s: env %s: Secret %s has no key %s", p.name, e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
			}
			env[e.Name] = string(v)
		case f.ConfigMapKeyRef != nil:
			cm := k.configMaps[f.ConfigMapKeyRef.Name]
			if cm == nil {
				k.t.Fatalf("pod %s: env %s: ConfigMap %s was not rendered", p.name, e.Name, f.ConfigMapKeyRef.Name)
			}
			env[e.Name] = cm.Data[f.ConfigMapKeyRef.Key]
		default:
			k.t.Fatalf("pod %s: env %s: a source localKube does not know", p.name, e.Name)
		}
	}
	return env
}

// mounts makes the container's volumes and returns the local directory of
// each mount path (the service account's too, when the kubelet would
// mount it).
func (k *localKube) mounts(p *localPod, c corev1.Container) map[string]string {
	k.t.Helper()
	podDir := filepath.Join(k.root, "pods", p.name)
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			k.t.Fatalf("pod %s: subPath mounts are not supported", p.name)
		}
		out[m.MountPath] = k.volume(p, podDir, m.Name)
	}
	if a := p.spec.AutomountServiceAccountToken; a == nil || *a {
		sa := p.spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		dir := filepath.Join(podDir, "serviceaccount")
		k.api.serviceAccountDir(k.t, dir, sa)
		out[serviceAccountMount] = dir
	}
	return out
}

// claimDir is where the claim of a StatefulSet pod (its PVC,
// <claim>-<pod>) lives.
func (k *localKube) claimDir(claim, pod string) string {
	return filepath.Join(k.root, "pvc", claim+"-"+pod)
}

// volume fills the pod's volume name on this machine and returns its
// directory. Secret and ConfigMap contents are written afresh each time a
// container starts, as the kubelet keeps them current.
func (k *localKube) volume(p *localPod, podDir, name string) string {
	k.t.Helper()
	if slices.Contains(p.claims, name) {
		dir := k.claimDir(name, p.name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			k.t.Fatal(err)
		}
		return dir
	}
	i := slices.IndexFunc(p.spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	if i < 0 {
		k.t.Fatalf("pod %s mounts volume %s, which it does not have", p.name, name)
	}
	v := p.spec.Volumes[i]
	dir := filepath.Join(podDir, "volumes", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		k.t.Fatal(err)
	}
	files := map[string][]byte{}
	switch {
	case v.PersistentVolumeClaim != nil:
		// A claim of the release's own (not a StatefulSet's): one
		// directory, kept across the pods that mount it.
		dir := filepath.Join(k.root, "pvc", v.PersistentVolumeClaim.ClaimName)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			k.t.Fatal(err)
		}
		return dir
	case v.EmptyDir != nil:
	case v.Secret != nil:
		k.secretFiles(p, v.Secret.SecretName, v.Secret.Items, files)
	case v.ConfigMap != nil:
		k.configMapFiles(p, v.ConfigMap.Name, v.ConfigMap.Items, files)
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.Secret != nil:
				k.secretFiles(p, src.Secret.Name, src.Secret.Items, files)
			case src.ConfigMap != nil:
				k.configMapFiles(p, src.ConfigMap.Name, src.ConfigMap.Items, files)
			default:
				k.t.Fatalf("pod %s volume %s: a projected source localKube does not know", p.name, name)
			}
		}
	default:
		k.t.Fatalf("pod %s volume %s: a volume type localKube does not know", p.name, name)
	}
	for path, b := range files {
		if err := os.WriteFile(filepath.Join(dir, path), b, 0o600); err != nil {
			k.t.Fatal(err)
		}
	}
	return dir
}

func (k *localKube) secretFiles(p *localPod, secret string, items []corev1.KeyToPath, files map[string][]byte) {
	data := k.api.secret(secret)
	if data == nil {
		k.t.Fatalf("pod %s mounts Secret %s, which does not exist", p.name, secret)
	}
	keyFiles(k.t, p.name, secret, data, items, files)
}

func (k *localKube) configMapFiles(p *localPod, name string, items []corev1.KeyToPath, files map[string][]byte) {
	k.mu.Lock()
	cm := k.configMaps[name]
	k.mu.Unlock()
	if cm == nil {
		k.t.Fatalf("pod %s mounts ConfigMap %s, which was not rendered", p.name, name)
	}
	data := map[string][]byte{}
	for key, v := range cm.Data {
		data[key] = []byte(v)
	}
	keyFiles(k.t, p.name, name, data, items, files)
}

// keyFiles lays out a Secret's or ConfigMap's keys as files: every key,
// or only items (each of which must exist, as the kubelet requires).
func keyFiles(t *testing.T, pod, source string, data map[string][]byte, items []corev1.KeyToPath, files map[string][]byte) {
	t.Helper()
	if len(items) == 0 {
		for key, v := range data {
			files[key] = v
		}
		return
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			t.Fatalf("pod %s: %s has no key %s", pod, source, it.Key)
		}
		if strings.Contains(it.Path, "/") {
			t.Fatalf("pod %s: item path %s with a directory is not supported", pod, it.Path)
		}
		files[it.Path] = v
	}
}

// get fetches path from the pod's container port named port and returns
// the body of a 200 answer.
func (k *localKube) get(p *localPod, port, path string) string {
	k.t.Helper()
	c := p.spec.Containers[0]
	if i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == port }); i >= 0 {
		port = strconv.Itoa(int(c.Ports[i].ContainerPort))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + net.JoinHostPort(p.ip, port) + path)
	if err != nil {
		k.t.Fatalf("pod %s: %v", p.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		k.t.Fatalf("pod %s: GET %s: %s %v", p.name, path, resp.Status, err)
	}
	return string(b)
}

// waitReady polls the pod's readiness probe (an HTTP GET on a named
// container port) until it answers 200; the pod must not exit meanwhile.
func (k *localKube) waitReady(p *localPod, timeout time.Duration) {
	k.t.Helper()
	c := p.spec.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		k.t.Fatalf("pod %s has no HTTP readiness probe", p.name)
	}
	g := c.ReadinessProbe.HTTPGet
	port := g.Port.String()
	if i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == port }); i >= 0 {
		port = strconv.Itoa(int(c.Ports[i].ContainerPort))
	}
	url := "http://" + net.JoinHostPort(p.ip, port) + g.Path
	client := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			k.t.Fatalf("pod %s exited before it was ready: %v", p.name, p.err)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	k.t.Fatalf("pod %s not ready after %s at %s: %s", p.name, timeout, url, last)
}

// remove stops a pod (SIGTERM, then SIGKILL after 10 s, as the kubelet
// does within the grace period) and takes its DNS names away; Services
// that pointed at it point at another pod they select, if any.
func (k *localKube) remove(p *localPod) {
	k.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	k.mu.Lock()
	delete(k.pods, p.name)
	for name, ip := range k.hosts {
		if ip == p.ip {
			delete(k.hosts, name)
		}
	}
	var others []*localPod
	for _, o := range k.pods {
		if o.cmd != nil {
			others = append(others, o)
		}
	}
	k.writeHosts()
	k.mu.Unlock()
	for _, o := range others {
		k.publish(o, "")
	}
}

// checkRunning fails the test if a server pod has exited.
func (k *localKube) checkRunning() {
	k.t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.done:
			k.t.Errorf("pod %s exited: %v", p.name, p.err)
		default:
		}
	}
}

func (k *localKube) stopAll() {
	k.mu.Lock()
	pods := make([]*localPod, 0, len(k.pods))
	for _, p := range k.pods {
		if p.cmd != nil {
			pods = append(pods, p)
		}
	}
	k.mu.Unlock()
	for _, p := range pods {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range pods {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// dumpLogs shows the end of every server pod's log.
func (k *localKube) dumpLogs() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		if p.cmd == nil {
			continue
		}
		f, err := os.Open(p.log)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		k.t.Logf("--- %s (%s), last lines:\n%s", p.name, p.ip, strings.Join(lines, "\n"))
	}
}

// TestLocalPath: mount paths are rewritten once, longest first, only
// where a path starts.
func TestLocalPath(t *testing.T) {
	mounts := map[string]string{
		"/tmp":                "/tmp/T/pod/tmp",
		"/etc/cairn/tls":      "/tmp/T/pod/tls",
		"/etc/cairn/tls-ext":  "/tmp/T/pod/ext",
		"/var/lib/cairn/meta": "/tmp/T/pvc/meta-0",
	}
	for in, want := range map[string]string{
		"--cert-dir=/etc/cairn/tls":             "--cert-dir=/tmp/T/pod/tls",
		"--ca=/etc/cairn/tls/ca.crt":            "--ca=/tmp/T/pod/tls/ca.crt",
		"--x=/etc/cairn/tls-ext/a":              "--x=/tmp/T/pod/ext/a",
		"--dir=/var/lib/cairn/meta":             "--dir=/tmp/T/pvc/meta-0",
		"--files=/tmp/a,/etc/cairn/tls/b":       "--files=/tmp/T/pod/tmp/a,/tmp/T/pod/tls/b",
		"--dir=/var/lib/cairn/metadata":         "--dir=/var/lib/cairn/metadata",
		"--endpoint=http://x.svc/etc/cairn/tls": "--endpoint=http://x.svc/etc/cairn/tls",
		"/etc/cairn/tls":                        "/tmp/T/pod/tls",
	} {
		if got := localPath(mounts, in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
