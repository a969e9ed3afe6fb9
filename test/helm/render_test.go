package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const (
	releaseName = "cairn"
	namespace   = "storage"
)

// moduleRoot is Cairn's module root, two levels up: this package is a
// module of its own (test/helm/go.mod), so that Helm's and Kubernetes'
// requirements do not move the versions the Cairn binaries build with.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module github.com/cairn-store/cairn\n") {
		t.Fatalf("%s is not Cairn's module root (%v)", root, err)
	}
	return root
}

func loadChart(t *testing.T) (*chart.Chart, string) {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "deploy", "helm", "cairn")
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch, dir
}

func parseValues(t *testing.T, s string) map[string]any {
	t.Helper()
	v := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("values %q: %v", s, err)
	}
	return v
}

// render renders the chart as `helm install` would, schema checked; it
// returns the manifests by template path.
func render(ch *chart.Chart, vals map[string]any) (map[string]string, error) {
	top, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{
		Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true,
	}, nil)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.Render(ch, top)
}

// TestLint: `helm lint` with the default values and every value set finds
// nothing, not even a warning.
func TestLint(t *testing.T) {
	_, dir := loadChart(t)
	for _, c := range valueSets {
		res := lint.RunAll(dir, parseValues(t, c.values), namespace)
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: lint: %v", c.name, m)
			} else {
				t.Logf("%s: lint: %v", c.name, m)
			}
		}
	}
}

// object is a rendered manifest decoded into its Go type.
type object struct {
	file, kind, name string
	obj              any
}

// decoders: every kind the chart may render, with its apiVersion and Go
// type. A kind missing here fails the test, so a new template needs a row.
var decoders = map[string]struct {
	apiVersion string
	new        func() any
}{
	"ConfigMap":               {"v1", func() any { return &corev1.ConfigMap{} }},
	"Secret":                  {"v1", func() any { return &corev1.Secret{} }},
	"Service":                 {"v1", func() any { return &corev1.Service{} }},
	"ServiceAccount":          {"v1", func() any { return &corev1.ServiceAccount{} }},
	"Pod":                     {"v1", func() any { return &corev1.Pod{} }},
	"StatefulSet":             {"apps/v1", func() any { return &appsv1.StatefulSet{} }},
	"Deployment":              {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"Job":                     {"batch/v1", func() any { return &batchv1.Job{} }},
	"CronJob":                 {"batch/v1", func() any { return &batchv1.CronJob{} }},
	"PersistentVolumeClaim":   {"v1", func() any { return &corev1.PersistentVolumeClaim{} }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return &autoscalingv2.HorizontalPodAutoscaler{} }},
	"Ingress":                 {"networking.k8s.io/v1", func() any { return &networkingv1.Ingress{} }},
	"Role":                    {"rbac.authorization.k8s.io/v1", func() any { return &rbacv1.Role{} }},
	"RoleBinding":             {"rbac.authorization.k8s.io/v1", func() any { return &rbacv1.RoleBinding{} }},
	"Certificate":             {"cert-manager.io/v1", func() any { return &certificate{} }},
	"ServiceMonitor":          {"monitoring.coreos.com/v1", func() any { return &serviceMonitor{} }},
}

// decodeAll splits the rendered manifests into objects and decodes each
// strictly.
func decodeAll(t *testing.T, manifests map[string]string) []object {
	t.Helper()
	files := make([]string, 0, len(manifests))
	for f := range manifests {
		files = append(files, f)
	}
	sort.Strings(files)
	var out []object
	for _, f := range files {
		if !strings.HasSuffix(f, ".yaml") {
			continue
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(manifests[f], -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: not YAML: %v\n%s", f, err, doc)
			}
			d, ok := decoders[head.Kind]
			if !ok {
				t.Fatalf("%s: kind %q has no decoder: add a row to decoders", f, head.Kind)
			}
			if head.APIVersion != d.apiVersion {
				t.Errorf("%s: %s %s has apiVersion %q, want %q", f, head.Kind, head.Metadata.Name, head.APIVersion, d.apiVersion)
			}
			obj := d.new()
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s: %s %s does not decode strictly: %v", f, head.Kind, head.Metadata.Name, err)
				continue
			}
			if head.Metadata.Name == "" {
				t.Errorf("%s: %s without a name", f, head.Kind)
			}
			out = append(out, object{file: f, kind: head.Kind, name: head.Metadata.Name, obj: obj})
		}
	}
	return out
}

// podSpecs returns the pod templates of the objects with the name a pod
// of each gets (for $(POD_NAME)).
func podSpecs(objs []object) map[string]*corev1.PodSpec {
	out := map[string]*corev1.PodSpec{}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			out[v.Name+"-0"] = &v.Spec.Template.Spec
		case *appsv1.Deployment:
			out[v.Name+"-7d9f8-x2x4q"] = &v.Spec.Template.Spec
		case *batchv1.Job:
			out[v.Name+"-q8r2z"] = &v.Spec.Template.Spec
		case *batchv1.CronJob:
			out[v.Name+"-29412345-q8r2z"] = &v.Spec.JobTemplate.Spec.Template.Spec
		case *corev1.Pod:
			out[v.Name] = &v.Spec
		}
	}
	return out
}

// binaries builds cairn and cairnctl once for the command-line checks.
type binaries struct{ cairn, cairnctl string }

func buildBinaries(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	b := binaries{cairn: filepath.Join(dir, "cairn"), cairnctl: filepath.Join(dir, "cairnctl")}
	for pkg, out := range map[string]string{"./cmd/cairn": b.cairn, "./cmd/cairnctl": b.cairnctl} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = moduleRoot(t)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return b
}

// expand replaces $(VAR) as the kubelet does, from the container's env;
// values from the downward API get plausible stand-ins.
func expand(s string, c corev1.Container, podName string, problems *[]string) string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = "node-a"
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = "zone-a"
		default:
			env[e.Name] = "from-a-secret"
		}
	}
	out, missing := expandVars(s, env)
	for _, name := range missing {
		*problems = append(*problems, fmt.Sprintf("container %s: %s refers to $(%s), which is not in its env", c.Name, s, name))
	}
	return out
}

// expandVars replaces $(VAR) in s with env's value, as the kubelet does in
// a container's command and args, and returns the names env lacks.
func expandVars(s string, env map[string]string) (string, []string) {
	var missing []string
	out := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	return out, missing
}

// checkCommandLines runs every container's command line through the flag
// parser of the binary it starts and returns what was refused.
func checkCommandLines(set string, objs []object, bins binaries) []string {
	var problems []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checked := 0
	for podName, spec := range podSpecs(objs) {
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			var args []string
			for _, a := range c.Args {
				args = append(args, expand(a, c, podName, &problems))
			}
			bin := "/usr/local/bin/cairn" // the image's entrypoint
			if len(c.Command) > 0 {
				bin = c.Command[0]
				args = append(append([]string{}, c.Command[1:]...), args...)
			}
			where := fmt.Sprintf("%s: pod %s container %s", set, podName, c.Name)
			var err error
			switch bin {
			case "/usr/local/bin/cairn":
				err = checkCairn(ctx, bins.cairn, args)
			case "/usr/local/bin/cairnctl":
				err = checkCairnctl(ctx, bins.cairnctl, args)
			default:
				err = fmt.Errorf("runs %s, not cairn or cairnctl", bin)
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			}
			checked++
		}
	}
	if checked < 3 {
		problems = append(problems, fmt.Sprintf("%s: checked only %d command lines", set, checked))
	}
	return problems
}

func checkCairn(ctx context.Context, bin string, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no cairn command")
	}
	out, err := exec.CommandContext(ctx, bin, append([]string{"check-flags"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cairn refuses %q: %v: %s", args, err, lastLine(out))
	}
	return nil
}

// checkCairnctl parses the command line with --help appended: cobra parses
// every flag (unknown ones and bad values are errors) and prints the
// usage of the command it resolved, which must be a runnable command, not
// a group that took a misspelt subcommand as an argument.
func checkCairnctl(ctx context.Context, bin string, args []string) error {
	out, err := exec.CommandContext(ctx, bin, append(append([]string{}, args...), "--help")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cairnctl refuses %q: %v: %s", args, err, lastLine(out))
	}
	usage := ""
	if _, after, ok := strings.Cut(string(out), "Usage:\n"); ok {
		usage, _, _ = strings.Cut(strings.TrimSpace(after), "\n")
	}
	if usage == "" || strings.Contains(usage, "[command]") {
		return fmt.Errorf("cairnctl %q does not name a command (usage %q)", args, usage)
	}
	var words []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	fields := strings.Fields(usage)[1:] // after "cairnctl"
	for i, f := range fields {
		if f == "[flags]" || strings.ToUpper(f) == f || i >= len(words) {
			break
		}
		if words[i] != f {
			return fmt.Errorf("cairnctl resolved %q for the words %q", usage, words)
		}
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// TestRender renders every value set, decodes every object strictly,
// checks what each set promises, and checks every command line.
func TestRender(t *testing.T) {
	ch, _ := loadChart(t)
	bins := buildBinaries(t)
	for _, c := range valueSets {
		manifests, err := render(ch, parseValues(t, c.values))
		if err != nil {
			t.Fatalf("%s: render: %v", c.name, err)
		}
		if !strings.Contains(manifests["cairn/templates/NOTES.txt"], "AWS_ACCESS_KEY_ID") {
			t.Errorf("%s: NOTES.txt does not say how to read the first access key", c.name)
		}
		objs := decodeAll(t, manifests)
		c.check(t, index(objs))
		for _, p := range checkCommandLines(c.name, objs, bins) {
			t.Error(p)
		}
		checkNoSecretInValues(t, c.name, objs)
		checkPodSecurity(t, c.name, objs)
	}
	t.Run("the command-line check bites", func(t *testing.T) { commandLineCheckBites(t, ch, bins) })
}

// rendered indexes the objects by kind/name.
type rendered map[string]any

func index(objs []object) rendered {
	r := rendered{}
	for _, o := range objs {
		r[o.kind+"/"+o.name] = o.obj
	}
	return r
}

func (r rendered) count(kind string) int {
	n := 0
	for k := range r {
		if strings.HasPrefix(k, kind+"/") {
			n++
		}
	}
	return n
}

// checkNoSecretInValues: Helm renders no Secret (the hook makes them in
// the cluster, so no render can replace them), and the default values
// file mentions no key material.
func checkNoSecretInValues(t *testing.T, set string, objs []object) {
	t.Helper()
	for _, o := range objs {
		if _, ok := o.obj.(*corev1.Secret); ok {
			t.Errorf("%s: Helm renders Secret %s: a render without the cluster (helm template) would replace it", set, o.name)
		}
	}
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "deploy", "helm", "cairn", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("BEGIN")) || regexp.MustCompile(`(?i)(token|password|secretKey):\s*\S`).Match(b) {
		t.Errorf("values.yaml holds something secret")
	}
}

// commandLineCheckBites: the command-line check refuses an unknown cairn
// flag, a badly typed value, and a misspelt cairnctl subcommand.
func commandLineCheckBites(t *testing.T, ch *chart.Chart, bins binaries) {
	manifests, err := render(ch, parseValues(t, `
meta: {extraArgs: ["--no-such-flag=1"]}
data: {extraArgs: ["--weight=heavy"]}`))
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, manifests)
	for _, o := range objs {
		if j, ok := o.obj.(*batchv1.Job); ok {
			args := j.Spec.Template.Spec.Containers[0].Args
			args[1] = "kube-synk"
		}
	}
	got := strings.Join(checkCommandLines("broken", objs, bins), "\n")
	for _, want := range []string{"not defined: -no-such-flag", `invalid value "heavy" for flag -weight`, "kube-synk"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check let through what it should refuse (%q); it said:\n%s", want, got)
		}
	}
}

// checkPodSecurity: every pod runs as the image's non-root user with a
// read-only root file system, and every container has a writable /tmp
// (an emptyDir) for what Go and the PKI tools write there.
func checkPodSecurity(t *testing.T, set string, objs []object) {
	t.Helper()
	for podName, spec := range podSpecs(objs) {
		if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
			t.Errorf("%s: pod %s must run as uid 65532, non-root", set, podName)
		}
		emptyDirs := map[string]bool{}
		for _, v := range spec.Volumes {
			if v.EmptyDir != nil {
				emptyDirs[v.Name] = true
			}
		}
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("%s: pod %s container %s: want a read-only root file system", set, podName, c.Name)
			}
			tmp := false
			for _, m := range c.VolumeMounts {
				tmp = tmp || (m.MountPath == "/tmp" && emptyDirs[m.Name])
			}
			if !tmp {
				t.Errorf("%s: pod %s container %s has no writable /tmp", set, podName, c.Name)
			}
		}
	}
}
