package helm

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bootValues are the values the boot test installs with: the defaults
// (3 meta, 6 data, 4+2), one gateway, and meta's background loops on a
// short interval so that a rebalance starts within the test's patience.
const bootValues = `
gateway: {replicas: 1}
meta: {extraArgs: ["--repair-interval=2s"]}
`

// scaledValues are the boot values scaled up as docs/kubernetes.md says:
// meta to 5 (bootstrapVoters stays 3) and data to 8.
const scaledValues = `
gateway: {replicas: 1}
meta: {replicas: 5, extraArgs: ["--repair-interval=2s"]}
data: {replicas: 8}
`

// scaledDownValues take meta back to 3 (the pre-upgrade hook removes the
// two members first) and turn on the meta backup CronJob, keeping one
// snapshot.
const scaledDownValues = `
gateway: {replicas: 1}
meta: {replicas: 3, extraArgs: ["--repair-interval=2s"], backup: {enabled: true, keep: 1}}
data: {replicas: 8}
`

// TestBootRenderedTopology runs the chart for real: it renders it, runs
// the pre-install hook (`cairnctl cert kube-sync` against a stand-in API
// server that holds the Secrets and enforces the rendered RBAC), starts
// every meta, data and gateway pod of the rendering as a local process
// with its rendered arguments, environment and mounted Secret and
// ConfigMap files (localKube), waits for each rendered readiness probe,
// and runs the chart's own `helm test` pods: `cairnctl status` and an S3
// round trip with every byte compared, through the gateway Service's DNS
// name. It checks 3 voters and 6 healthy data nodes. Then it scales up as
// `helm upgrade --set meta.replicas=5,data.replicas=8` would: the
// pre-upgrade hook issues the new identities, the new pods start, the
// post-upgrade Job adds the new meta members, and the test sees 5 voters,
// 8 healthy data nodes and the rebalancer moving shards onto the new
// ones. Last, the pods whose templates the upgrade changed roll as their
// controllers would roll them, each coming back on its volume at a new
// address, and the cluster still has its members and its data nodes.
// Then a data pod loses its volume and comes back empty under its ID, and
// repair rebuilds what it held, and an initial meta voter loses its
// volume and rejoins its group without bootstrapping it again. Then meta
// scales back down to 3: the
// pre-upgrade hook removes the two members before their pods stop. Last,
// the backup CronJob's pod runs twice and leaves one snapshot that
// verifies; `helm test` passes after it all.
func TestBootRenderedTopology(t *testing.T) {
	start := time.Now()
	ch, _ := loadChart(t)
	bins := buildBinaries(t)
	k := newLocalKube(t, bins)

	objs := renderObjects(t, ch, bootValues)
	k.install(objs, "install", nil)
	t.Logf("installed and ready in %s", time.Since(start).Round(time.Millisecond))
	// No wait for meta here: a data pod is ready only once meta counts
	// it (node.Node.Ready), so install's readiness is enough for the S3
	// round trip's write quorum, as it must be for an operator.

	// `cairn bench --verify` fails on any failed or differing operation.
	t.Logf("helm test, S3 round trip:\n%s", k.helmTest(objs)["s3"])
	st := k.status(objs)
	checkMembers(t, st, 3)
	checkDataNodes(t, st, 6)
	k.checkMetricsDocumented(objs)

	// Objects for the rebalancer to move: the S3 test pod's client, told
	// to keep what it writes.
	k.fill(objs, 48)
	before := k.status(objs).Rebalance
	t.Logf("booted, tested and filled in %s; rebalancer before the scale-up: %+v", time.Since(start).Round(time.Millisecond), before)

	scaled := renderObjects(t, ch, scaledValues)
	k.install(scaled, "upgrade", objs)
	checkMembers(t, k.status(scaled), 5)
	checkDataNodes(t, k.status(scaled), 8)
	moved := k.waitRebalanced(scaled, before, 60*time.Second)
	t.Logf("scaled up in %s; the rebalancer moved %d shards onto the new nodes", time.Since(start).Round(time.Millisecond), moved)

	// The old pods' templates changed (their TLS volume lists the new
	// identities, their --meta the new members): they roll, each
	// restarting on its volume with a new address.
	rolled := k.rollOut(objs, scaled)
	checkMembers(t, k.status(scaled), 5)
	checkDataNodes(t, k.status(scaled), 8)
	t.Logf("rolled %d pods in %s", rolled, time.Since(start).Round(time.Millisecond))

	// A data pod whose volume is lost comes back empty under the same ID,
	// a new incarnation, and repair rebuilds the shards it held.
	st = k.status(scaled)
	k.replaceWithEmptyVolumes(scaled, releaseName+"-data", 7)
	repaired := k.waitRepaired(scaled, st.Repair.UnitsRepaired, 60*time.Second)
	checkDataNodes(t, k.status(scaled), 8)
	t.Logf("%s-data-7 lost its volume; repair rebuilt %d units in %s", releaseName, repaired, time.Since(start).Round(time.Millisecond))

	// An initial voter loses its volume: it finds its group alive and
	// does not bootstrap again; the leader sends it the group's state.
	k.replaceWithEmptyVolumes(scaled, releaseName+"-meta", 1)
	checkMembers(t, k.status(scaled), 5)
	k.fill(scaled, 4)
	t.Logf("%s-meta-1 lost its volume and was caught up in %s", releaseName, time.Since(start).Round(time.Millisecond))

	// Scale-down: the pre-upgrade hook removes meta-4 and meta-3 from the
	// group before the StatefulSet stops them; their volumes go with them.
	down := renderObjects(t, ch, scaledDownValues)
	k.install(down, "upgrade", scaled)
	checkMembers(t, k.status(down), 3)
	k.shrink(scaled, down)
	rolled = k.rollOut(scaled, down)
	checkMembers(t, k.status(down), 3)
	checkDataNodes(t, k.status(down), 8)
	t.Logf("scaled meta down to 3 and rolled %d pods in %s", rolled, time.Since(start).Round(time.Millisecond))

	// The backup CronJob's pod, run once as the schedule would, twice:
	// each run adds a snapshot file that `cairnctl meta snapshot verify`
	// accepts, and --keep=1 leaves only the newest.
	for range 2 {
		k.runCronJob(down, releaseName+"-meta-backup")
	}
	k.checkBackups(down, releaseName+"-meta-backup", 1)

	k.helmTest(down)
	k.checkRunning()
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// shrink stops the StatefulSet pods that objs no longer has, highest
// ordinal first, and deletes their claims where the StatefulSet's
// retention policy says so (whenScaled: Delete).
func (k *localKube) shrink(prev, objs []object) {
	k.t.Helper()
	for _, o := range objs {
		s, ok := o.obj.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		for i := replicasOf(prev, o.kind, o.name) - 1; i >= int(*s.Spec.Replicas); i-- {
			name := fmt.Sprintf("%s-%d", s.Name, i)
			k.mu.Lock()
			p := k.pods[name]
			k.mu.Unlock()
			if p == nil {
				k.t.Fatalf("no pod %s to stop", name)
			}
			k.remove(p)
			if pol := s.Spec.PersistentVolumeClaimRetentionPolicy; pol != nil && pol.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				for _, c := range p.claims {
					if err := os.RemoveAll(k.claimDir(c, name)); err != nil {
						k.t.Fatal(err)
					}
				}
			}
		}
	}
}

// runCronJob runs one pod of the named CronJob's job template.
func (k *localKube) runCronJob(objs []object, name string) {
	k.t.Helper()
	for _, o := range objs {
		if c, ok := o.obj.(*batchv1.CronJob); ok && c.Name == name {
			spec := c.Spec.JobTemplate.Spec.Template
			out := k.runPod(k.oneOff(name), &spec.Spec, spec.Labels)
			k.t.Logf("cron job %s:\n%s", name, strings.Join(mapValues(out), ""))
			return
		}
	}
	k.t.Fatalf("no CronJob %s", name)
}

// checkBackups checks that the claim holds exactly want snapshot files,
// each accepted by `cairnctl meta snapshot verify`.
func (k *localKube) checkBackups(objs []object, claim string, want int) {
	k.t.Helper()
	files, err := filepath.Glob(filepath.Join(k.root, "pvc", claim, "meta-*.snap"))
	if err != nil {
		k.t.Fatal(err)
	}
	if len(files) != want {
		k.t.Fatalf("backup volume holds %d snapshots (%q), want %d", len(files), files, want)
	}
	for _, f := range files {
		out, err := exec.Command(k.bins.cairnctl, "meta", "snapshot", "verify", f).CombinedOutput()
		if err != nil {
			k.t.Fatalf("cairnctl meta snapshot verify %s: %v\n%s", f, err, out)
		}
	}
}

func renderObjects(t *testing.T, ch *chart.Chart, values string) []object {
	t.Helper()
	manifests, err := render(ch, parseValues(t, values))
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return decodeAll(t, manifests)
}

// hookEvents returns the Helm hook events an object runs at, or nil.
func hookEvents(o object) []string {
	m, ok := o.obj.(interface{ GetAnnotations() map[string]string })
	if !ok {
		return nil
	}
	h := m.GetAnnotations()["helm.sh/hook"]
	if h == "" {
		return nil
	}
	return strings.Split(h, ",")
}

// hooks returns the objects of event, in Helm's order (weight, then name).
func hooks(objs []object, event string) []object {
	var out []object
	for _, o := range objs {
		if slices.Contains(hookEvents(o), event) {
			out = append(out, o)
		}
	}
	weight := func(o object) string {
		return o.obj.(interface{ GetAnnotations() map[string]string }).GetAnnotations()["helm.sh/hook-weight"]
	}
	sort.SliceStable(out, func(i, j int) bool {
		var wi, wj int
		fmt.Sscan(weight(out[i]), &wi)
		fmt.Sscan(weight(out[j]), &wj)
		return wi < wj
	})
	return out
}

// runHooks creates the hook objects of event and runs their Jobs.
func (k *localKube) runHooks(objs []object, event string) {
	k.t.Helper()
	hs := hooks(objs, event)
	k.apply(hs)
	for _, o := range hs {
		if j, ok := o.obj.(*batchv1.Job); ok {
			out := k.runJob(j)
			k.t.Logf("%s hook %s:\n%s", event, j.Name, strings.Join(mapValues(out), ""))
			if r := k.api.refusals(); len(r) > 0 {
				k.t.Errorf("%s hook %s: the API server refused: %v", event, j.Name, r)
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(m))
	for _, key := range keys {
		out = append(out, m[key])
	}
	return out
}

// install does what `helm install` (event "install") or `helm upgrade`
// ("upgrade") does with objs: pre hooks, the release's objects, every
// workload pod that is not running yet (all at once: the StatefulSets are
// Parallel), the post hooks; then it waits until every new pod's
// readiness probe passes and publishes it behind its Services. prev is
// the rendering already installed, nil for an install.
func (k *localKube) install(objs []object, event string, prev []object) {
	k.t.Helper()
	k.runHooks(objs, "pre-"+event)
	var release []object
	for _, o := range objs {
		if hookEvents(o) == nil {
			release = append(release, o)
		}
	}
	k.apply(release)
	var started []*localPod
	for _, o := range release {
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			for i := replicasOf(prev, o.kind, o.name); i < int(*v.Spec.Replicas); i++ {
				started = append(started, k.startStatefulSetPod(v, i))
			}
		case *appsv1.Deployment:
			for i := replicasOf(prev, o.kind, o.name); i < int(*v.Spec.Replicas); i++ {
				started = append(started, k.startDeploymentPod(v, i))
			}
		}
	}
	// Helm runs the post hooks once the objects exist, not once the pods
	// are ready (without --wait): a meta pod past the initial voters is
	// not ready until the members Job has added it.
	k.runHooks(objs, "post-"+event)
	for _, p := range started {
		k.waitReady(p, 90*time.Second)
		k.publish(p, "")
	}
}

// rollOut replaces every pod of prev whose template objs changes, as the
// controllers do after `helm upgrade`: a StatefulSet's pods one at a time
// from the highest ordinal, each ready before the next goes (the new one
// keeps the old one's claims but gets a new address, as a new pod does);
// a Deployment's with one new pod first (maxSurge 1, maxUnavailable 0).
// It returns how many pods it replaced.
func (k *localKube) rollOut(prev, objs []object) int {
	k.t.Helper()
	template := func(objs []object, kind, name string) any {
		for _, o := range objs {
			if o.kind == kind && o.name == name {
				switch v := o.obj.(type) {
				case *appsv1.StatefulSet:
					return v.Spec.Template
				case *appsv1.Deployment:
					return v.Spec.Template
				}
			}
		}
		return nil
	}
	pod := func(name string) *localPod {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.pods[name]
	}
	replaced := 0
	for _, o := range objs {
		old := template(prev, o.kind, o.name)
		if old == nil || reflect.DeepEqual(old, template(objs, o.kind, o.name)) {
			continue
		}
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			for i := min(replicasOf(prev, o.kind, o.name), int(*v.Spec.Replicas)) - 1; i >= 0; i-- {
				k.remove(pod(fmt.Sprintf("%s-%d", v.Name, i)))
				p := k.startStatefulSetPod(v, i)
				k.waitReady(p, 90*time.Second)
				replaced++
			}
		case *appsv1.Deployment:
			// The pods running now, by their index in the names, and
			// the next index free (an earlier roll-out moved them on).
			var running []int
			k.mu.Lock()
			for i := 0; i < k.ips; i++ {
				if k.pods[deploymentPodName(v, i)] != nil {
					running = append(running, i)
				}
			}
			k.mu.Unlock()
			next := slices.Max(running) + 1
			for j, i := range running {
				p := k.startDeploymentPod(v, next+j)
				k.waitReady(p, 90*time.Second)
				k.publish(p, "")
				k.remove(pod(deploymentPodName(v, i)))
				replaced++
			}
		}
	}
	return replaced
}

// replaceWithEmptyVolumes replaces pod i of StatefulSet name, deleting its
// claims first, as an operator does after losing its disk.
func (k *localKube) replaceWithEmptyVolumes(objs []object, name string, i int) {
	k.t.Helper()
	var s *appsv1.StatefulSet
	for _, o := range objs {
		if v, ok := o.obj.(*appsv1.StatefulSet); ok && v.Name == name {
			s = v
		}
	}
	pod := fmt.Sprintf("%s-%d", name, i)
	k.mu.Lock()
	p := k.pods[pod]
	k.mu.Unlock()
	if s == nil || p == nil {
		k.t.Fatalf("no StatefulSet %s or no pod %s", name, pod)
	}
	k.remove(p)
	for _, c := range p.claims {
		if err := os.RemoveAll(k.claimDir(c, pod)); err != nil {
			k.t.Fatal(err)
		}
	}
	k.waitReady(k.startStatefulSetPod(s, i), 90*time.Second)
}

// waitRepaired waits until repair has repaired units since the count
// before and nothing is under-replicated; it returns how many.
func (k *localKube) waitRepaired(objs []object, before int64, timeout time.Duration) int64 {
	k.t.Helper()
	deadline := time.Now().Add(timeout)
	var st clusterStatus
	for time.Now().Before(deadline) {
		st = k.status(objs)
		if n := st.Repair.UnitsRepaired - before; n > 0 && st.Repair.UnderReplicated == 0 && st.Repair.LostUnits == 0 {
			return n
		}
		k.checkRunning()
		time.Sleep(time.Second)
	}
	k.t.Fatalf("no repair after %s: %+v (units repaired before: %d)", timeout, st.Repair, before)
	return 0
}

// replicasOf is the replica count of kind/name in objs (0 if absent).
func replicasOf(objs []object, kind, name string) int {
	for _, o := range objs {
		if o.kind != kind || o.name != name {
			continue
		}
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			return int(*v.Spec.Replicas)
		case *appsv1.Deployment:
			return int(*v.Spec.Replicas)
		}
	}
	return 0
}

// testPod returns the rendered `helm test` pod whose name ends in suffix.
func testPod(t *testing.T, objs []object, suffix string) *corev1.Pod {
	t.Helper()
	for _, o := range objs {
		if p, ok := o.obj.(*corev1.Pod); ok && slices.Contains(hookEvents(o), "test") && strings.HasSuffix(p.Name, suffix) {
			return p
		}
	}
	t.Fatalf("no helm test pod named *%s", suffix)
	return nil
}

// helmTest runs every `helm test` pod; each must succeed. It returns
// their outputs by container name.
func (k *localKube) helmTest(objs []object) map[string]string {
	k.t.Helper()
	out := map[string]string{}
	n := 0
	for _, o := range hooks(objs, "test") {
		p := o.obj.(*corev1.Pod)
		for c, s := range k.runPod(k.oneOff(p.Name), &p.Spec, p.Labels) {
			out[c] = s
		}
		n++
	}
	if n < 2 {
		k.t.Fatalf("ran %d helm test pods, want the status and the S3 round trip", n)
	}
	return out
}

// clusterStatus is what the test reads of `cairnctl status -o json`.
type clusterStatus struct {
	Leader  string `json:"leader"`
	Members []struct {
		ID       string `json:"id"`
		RaftAddr string `json:"raft_addr"`
		Suffrage string `json:"suffrage"`
	} `json:"members"`
	Nodes []struct {
		ID      string `json:"id"`
		Addr    string `json:"addr"`
		Healthy bool   `json:"healthy"`
		Host    string `json:"host"`
	} `json:"data_nodes"`
	Rebalance rebalanceStatus `json:"rebalance"`
	Repair    struct {
		UnderReplicated int64 `json:"under_replicated"`
		UnitsRepaired   int64 `json:"units_repaired"`
		LostUnits       int64 `json:"lost_units"`
	} `json:"repair"`
}

type rebalanceStatus struct {
	Passes           int64 `json:"passes"`
	ShardsToMove     int64 `json:"shards_to_move"`
	TotalShardsMoved int64 `json:"total_shards_moved"`
	Failures         int64 `json:"failures"`
}

// status runs the chart's status test pod with -o json.
func (k *localKube) status(objs []object) clusterStatus {
	k.t.Helper()
	p := testPod(k.t, objs, "-test-status").DeepCopy()
	c := &p.Spec.Containers[0]
	c.Args = append(c.Args, "--output=json")
	out := k.runPod(k.oneOff(p.Name+"-json"), &p.Spec, p.Labels)[c.Name]
	var st clusterStatus
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
		k.t.Fatalf("cairnctl status -o json: %v\n%s", err, out)
	}
	return st
}

// fill writes n objects through the gateway with the S3 test pod's
// client and keeps them.
func (k *localKube) fill(objs []object, n int) {
	k.t.Helper()
	p := testPod(k.t, objs, "-test-s3").DeepCopy()
	c := &p.Spec.Containers[0]
	var args []string
	for _, a := range c.Args {
		if a == "--cleanup" || strings.HasPrefix(a, "--op=") || strings.HasPrefix(a, "--keys=") ||
			strings.HasPrefix(a, "--count=") || strings.HasPrefix(a, "--bucket=") {
			continue
		}
		args = append(args, a)
	}
	c.Args = append(args, "--op=put", "--bucket=boot-fill", fmt.Sprintf("--count=%d", n))
	k.runPod(k.oneOff("fill"), &p.Spec, p.Labels)
}

func checkMembers(t *testing.T, st clusterStatus, want int) {
	t.Helper()
	voters := 0
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	for i, m := range st.Members {
		id := fmt.Sprintf("%s-meta-%d", releaseName, i)
		host := fmt.Sprintf("%s.%s-meta.%s.svc.%s:7001", id, releaseName, namespace, clusterDomain)
		if m.ID != id || m.RaftAddr != host {
			t.Errorf("member %d is %s at %s, want %s at %s", i, m.ID, m.RaftAddr, id, host)
		}
		if strings.EqualFold(m.Suffrage, "voter") {
			voters++
		}
	}
	if voters != want || len(st.Members) != want || st.Leader == "" {
		t.Fatalf("%d members, %d voters, leader %q; want %d voters and a leader: %+v", len(st.Members), voters, st.Leader, want, st.Members)
	}
}

func checkDataNodes(t *testing.T, st clusterStatus, want int) {
	t.Helper()
	healthy := 0
	for _, n := range st.Nodes {
		addr := fmt.Sprintf("%s.%s-data.%s.svc.%s:7201", n.ID, releaseName, namespace, clusterDomain)
		if n.Addr != addr || n.Host != "node-"+n.ID {
			t.Errorf("data node %s advertises %s on host %s, want %s on node-%s", n.ID, n.Addr, n.Host, addr, n.ID)
		}
		if n.Healthy {
			healthy++
		}
	}
	if healthy != want || len(st.Nodes) != want {
		t.Fatalf("%d data nodes, %d healthy; want %d healthy: %+v", len(st.Nodes), healthy, want, st.Nodes)
	}
}

// checkMetricsDocumented scrapes /metrics of the first meta, data and
// gateway pods, and compares the cairn_* series they serve, with their
// types, to docs/metrics.md.
func (k *localKube) checkMetricsDocumented(objs []object) {
	k.t.Helper()
	doc, err := os.ReadFile(filepath.Join(moduleRoot(k.t), "docs", "metrics.md"))
	if err != nil {
		k.t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(cairn_[a-z0-9_]+)` \\| ([a-z]+) \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = m[2]
	}
	served := map[string]string{}
	for _, name := range []string{releaseName + "-meta-0", releaseName + "-data-0", deploymentPodName(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: releaseName + "-gateway"}}, 0)} {
		k.mu.Lock()
		p := k.pods[name]
		k.mu.Unlock()
		if p == nil {
			k.t.Fatalf("no pod %s to scrape", name)
		}
		for _, m := range regexp.MustCompile(`(?m)^# TYPE (cairn_[a-z0-9_]+) ([a-z]+)$`).FindAllStringSubmatch(k.get(p, "ops", "/metrics"), -1) {
			served[m[1]] = m[2]
		}
	}
	for name, typ := range served {
		if documented[name] != typ {
			k.t.Errorf("%s (%s) is served but docs/metrics.md says %q", name, typ, documented[name])
		}
	}
	for name := range documented {
		if _, ok := served[name]; !ok {
			k.t.Errorf("docs/metrics.md lists %s, which no process serves", name)
		}
	}
	k.t.Logf("%d cairn_* series served, all documented", len(served))
}

// waitRebalanced waits until the rebalancer has moved shards since
// before, and returns how many it moved.
func (k *localKube) waitRebalanced(objs []object, before rebalanceStatus, timeout time.Duration) int64 {
	k.t.Helper()
	deadline := time.Now().Add(timeout)
	var st clusterStatus
	for time.Now().Before(deadline) {
		st = k.status(objs)
		if moved := st.Rebalance.TotalShardsMoved - before.TotalShardsMoved; moved > 0 && st.Rebalance.Passes > before.Passes {
			return moved
		}
		k.checkRunning()
		time.Sleep(time.Second)
	}
	k.t.Fatalf("no rebalance after %s: %+v (before the scale-up %+v)", timeout, st.Rebalance, before)
	return 0
}
