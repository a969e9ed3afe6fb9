package helm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v4/pkg/chart/common/util"
)

// valueSet is one way to install the chart and what its rendering must
// hold.
type valueSet struct {
	name   string
	values string
	check  func(t *testing.T, r rendered)
}

var valueSets = []valueSet{
	{"default", ``, func(t *testing.T, r rendered) {
		meta := sts(t, r, "cairn-meta")
		wantReplicas(t, "meta", meta.Spec.Replicas, 3)
		wantReplicas(t, "data", sts(t, r, "cairn-data").Spec.Replicas, 6)
		wantArg(t, container(t, &meta.Spec.Template.Spec, "meta"), "--peers=cairn-meta-0=cairn-meta-0.cairn-meta.storage.svc.cluster.local:7001,"+
			"cairn-meta-1=cairn-meta-1.cairn-meta.storage.svc.cluster.local:7001,cairn-meta-2=cairn-meta-2.cairn-meta.storage.svc.cluster.local:7001")
		wantArg(t, container(t, &meta.Spec.Template.Spec, "meta"), "--bootstrap-if-peer")
		wantPDB(t, r, "cairn-meta", 1)
		wantPDB(t, r, "cairn-data", 1)
		if r.count("Job") != 2 || r["Job/cairn-secrets-hook"] == nil || r["Job/cairn-meta-retain"] == nil {
			t.Errorf("want only the secrets hook and meta-retain Jobs (no members Job with replicas = bootstrapVoters)")
		}
		hook := strings.Join(r["Job/cairn-secrets-hook"].(*batchv1.Job).Spec.Template.Spec.Containers[0].Args, " ")
		for _, want := range []string{"cairn-master-key/keyring:32", "cairn-admin-token/token:32", "--identities=meta/cairn-meta-0,", ",admin/chart"} {
			if !strings.Contains(hook, want) {
				t.Errorf("secrets hook args lack %q: %s", want, hook)
			}
		}
		if r.count("Certificate") != 0 || r.count("Ingress") != 0 || r.count("HorizontalPodAutoscaler") != 0 || r.count("CronJob") != 0 {
			t.Errorf("optional objects rendered by default")
		}
		svc := r["Service/cairn-meta"].(*corev1.Service)
		if svc.Spec.ClusterIP != "None" || !svc.Spec.PublishNotReadyAddresses {
			t.Errorf("meta Service must be headless and publish unready pods (peer DNS before a leader exists)")
		}
		data := sts(t, r, "cairn-data")
		if len(data.Spec.VolumeClaimTemplates) != 1 || data.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
			t.Errorf("data pods need one PVC each, kept on scale-down")
		}
		dc := container(t, &data.Spec.Template.Spec, "data")
		wantArg(t, dc, "--host=$(NODE_NAME)")
		wantArg(t, dc, "--zone=$(CAIRN_ZONE)")
		for _, o := range []*corev1.PodTemplateSpec{&meta.Spec.Template, &data.Spec.Template, &r["Deployment/cairn-gateway"].(*appsv1.Deployment).Spec.Template} {
			if o.Annotations["checksum/config"] == "" {
				t.Errorf("pod template without checksum/config")
			}
			for _, c := range o.Spec.Containers {
				if c.StartupProbe == nil || c.LivenessProbe == nil || c.ReadinessProbe == nil {
					t.Errorf("%s: want startup, liveness and readiness probes", c.Name)
				}
				if envValue(c, "GOMEMLIMIT") == "" || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s: want a memory limit and GOMEMLIMIT below it", c.Name)
				}
			}
		}
		if got := envValue(container(t, &meta.Spec.Template.Spec, "meta"), "GOMEMLIMIT"); got != "921MiB" {
			t.Errorf("meta GOMEMLIMIT %q, want 921MiB (90%% of 1Gi)", got)
		}
	}},
	{"meta-5", `meta: {replicas: 5, bootstrapVoters: 5}`, func(t *testing.T, r rendered) {
		wantReplicas(t, "meta", sts(t, r, "cairn-meta").Spec.Replicas, 5)
		wantArg(t, container(t, &sts(t, r, "cairn-meta").Spec.Template.Spec, "meta"),
			"--peers="+peers(5))
		gw := r["Deployment/cairn-gateway"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
		if !strings.Contains(strings.Join(gw.Args, " "), "cairn-meta-4.cairn-meta.storage.svc.cluster.local:7101 ") {
			t.Errorf("gateway --meta must list all 5 meta nodes: %q", gw.Args)
		}
	}},
	{"meta-5-scaled-to-3-with-backups", `meta: {replicas: 3, bootstrapVoters: 3, backup: {enabled: true, schedule: "15 2 * * *", keep: 4}}`, func(t *testing.T, r rendered) {
		retain, ok := r["Job/cairn-meta-retain"].(*batchv1.Job)
		if !ok {
			t.Fatal("no meta-retain Job")
		}
		if retain.Annotations["helm.sh/hook"] != "pre-upgrade" {
			t.Errorf("meta-retain hook %q, want pre-upgrade (before the StatefulSet shrinks)", retain.Annotations["helm.sh/hook"])
		}
		if args := strings.Join(retain.Spec.Template.Spec.Containers[0].Args, " "); !strings.HasSuffix(args, " meta retain cairn-meta-0 cairn-meta-1 cairn-meta-2") {
			t.Errorf("meta-retain args %q, want it to retain meta-0 to meta-2", args)
		}
		if p := sts(t, r, "cairn-meta").Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			t.Errorf("a meta pod scaled away must lose its volume: %+v", p)
		}
		cron, ok := r["CronJob/cairn-meta-backup"].(*batchv1.CronJob)
		if !ok {
			t.Fatal("backup enabled, but no CronJob")
		}
		if cron.Spec.Schedule != "15 2 * * *" || cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("backup CronJob schedule %q, concurrency %q", cron.Spec.Schedule, cron.Spec.ConcurrencyPolicy)
		}
		if args := strings.Join(cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, " "); !strings.HasSuffix(args, " meta snapshot save /backup --keep=4") {
			t.Errorf("backup args %q", args)
		}
		pvc, ok := r["PersistentVolumeClaim/cairn-meta-backup"].(*corev1.PersistentVolumeClaim)
		if !ok || pvc.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("the backup volume must exist and outlive an uninstall: %+v", pvc)
		}
	}},
	{"meta-3-scaled-to-5", `meta: {replicas: 5, bootstrapVoters: 3}`, func(t *testing.T, r rendered) {
		wantArg(t, container(t, &sts(t, r, "cairn-meta").Spec.Template.Spec, "meta"), "--peers="+peers(3))
		job, ok := r["Job/cairn-meta-members"].(*batchv1.Job)
		if !ok {
			t.Fatal("scaling meta past the initial voters needs the members Job")
		}
		if job.Annotations["helm.sh/hook"] != "post-install,post-upgrade" {
			t.Errorf("members Job hook %q", job.Annotations["helm.sh/hook"])
		}
		var added []string
		for _, c := range job.Spec.Template.Spec.InitContainers {
			added = append(added, c.Args[len(c.Args)-3])
		}
		if strings.Join(added, " ") != "cairn-meta-3 cairn-meta-4" {
			t.Errorf("members Job adds %q, want cairn-meta-3 cairn-meta-4 in order", added)
		}
	}},
	{"data-8-zones-5+3", `
data: {replicas: 8, spreadOverZones: true, pdb: {maxUnavailable: 3}}
erasure: {dataShards: 5, parityShards: 3}
podAntiAffinity: hard`, func(t *testing.T, r rendered) {
		data := sts(t, r, "cairn-data")
		wantReplicas(t, "data", data.Spec.Replicas, 8)
		wantPDB(t, r, "cairn-data", 3)
		tsc := data.Spec.Template.Spec.TopologySpreadConstraints
		if len(tsc) != 1 || tsc[0].TopologyKey != "topology.kubernetes.io/zone" || tsc[0].MaxSkew != 1 {
			t.Errorf("data pods must spread over zones: %+v", tsc)
		}
		if a := data.Spec.Template.Spec.Affinity.PodAntiAffinity; a == nil || len(a.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Errorf("hard anti-affinity must be required")
		}
		gw := r["Deployment/cairn-gateway"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
		wantArg(t, gw, "--data-shards=5")
		wantArg(t, gw, "--parity-shards=3")
	}},
	{"data-9-zones-6+3", `
data: {replicas: 9, spreadOverZones: true, pdb: {maxUnavailable: 2}}
erasure: {dataShards: 6, parityShards: 3, writeQuorum: 8}`, func(t *testing.T, r rendered) {
		wantReplicas(t, "data", sts(t, r, "cairn-data").Spec.Replicas, 9)
		wantArg(t, r["Deployment/cairn-gateway"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0], "--write-quorum=8")
		if n := strings.Count(strings.Join(r["Job/cairn-secrets-hook"].(*batchv1.Job).Spec.Template.Spec.Containers[0].Args, " "), "data/cairn-data-"); n != 9 {
			t.Errorf("TLS hook issues %d data certificates, want 9", n)
		}
	}},
	{"cert-manager", `
internalTLS: {certManager: {enabled: true, issuerRef: {name: cairn-ca, kind: ClusterIssuer}}}
gateway: {tls: {enabled: true, certManager: {enabled: true, issuerRef: {name: public, kind: ClusterIssuer}}}, domains: [s3.example.com]}`,
		func(t *testing.T, r rendered) {
			hook := strings.Join(r["Job/cairn-secrets-hook"].(*batchv1.Job).Spec.Template.Spec.Containers[0].Args, " ")
			if strings.Contains(hook, "--identities") || !strings.Contains(hook, "--random=") {
				t.Errorf("with cert-manager the hook makes the random secrets only: %s", hook)
			}
			// 3 meta + 6 data + gateway + admin, and the gateway's HTTPS one.
			if n := r.count("Certificate"); n != 12 {
				t.Errorf("%d Certificates, want 12", n)
			}
			c := r["Certificate/cairn-tls-meta-cairn-meta-1"].(*certificate)
			if len(c.Spec.URIs) != 1 || c.Spec.URIs[0] != "spiffe://cairn/cairn/meta/cairn-meta-1" || c.Spec.IssuerRef.Name != "cairn-ca" {
				t.Errorf("meta-1 certificate: %+v", c.Spec)
			}
			gw := r["Deployment/cairn-gateway"].(*appsv1.Deployment)
			wantArg(t, gw.Spec.Template.Spec.Containers[0], "--tls-cert=/etc/cairn/https/tls.crt")
			https := r["Certificate/cairn-gateway-tls"].(*certificate)
			if strings.Join(https.Spec.DNSNames, " ") != "cairn-gateway.storage.svc.cluster.local s3.example.com *.s3.example.com" {
				t.Errorf("gateway HTTPS names %q", https.Spec.DNSNames)
			}
			if r["Service/cairn-gateway"].(*corev1.Service).Spec.Ports[0].Name != "https" {
				t.Errorf("gateway Service port must be named https")
			}
		}},
	{"ingress-namespaces", `
region: eu-west-2
gateway:
  domains: [s3.example.com]
  namespaceEndpoints: {enabled: true, domain: example.com, namespaces: [acme, beta]}
  ingress: {enabled: true, className: nginx, hosts: [cairn.example.com]}
  autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 6}
metrics: {serviceMonitor: {enabled: true}}`, func(t *testing.T, r rendered) {
		ing := r["Ingress/cairn-gateway"].(*networkingv1.Ingress)
		var hosts []string
		for _, rule := range ing.Spec.Rules {
			hosts = append(hosts, rule.Host)
		}
		want := "cairn.example.com s3.example.com *.s3.example.com acme.compat.objectstorage.eu-west-2.example.com " +
			"*.acme.compat.objectstorage.eu-west-2.example.com beta.compat.objectstorage.eu-west-2.example.com *.beta.compat.objectstorage.eu-west-2.example.com"
		if strings.Join(hosts, " ") != want {
			t.Errorf("Ingress hosts\n %q\nwant\n %q", strings.Join(hosts, " "), want)
		}
		cm := r["ConfigMap/cairn-config"].(*corev1.ConfigMap)
		if cm.Data["CAIRN_DOMAIN"] != "s3.example.com,acme.compat.objectstorage.eu-west-2.example.com,beta.compat.objectstorage.eu-west-2.example.com" {
			t.Errorf("gateway domains %q", cm.Data["CAIRN_DOMAIN"])
		}
		if r.count("HorizontalPodAutoscaler") != 1 || r["Deployment/cairn-gateway"].(*appsv1.Deployment).Spec.Replicas != nil {
			t.Errorf("with an HPA the Deployment must leave replicas to it")
		}
		if r.count("ServiceMonitor") != 3 {
			t.Errorf("want a ServiceMonitor per component")
		}
	}},
}

func peers(n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("cairn-meta-%d=cairn-meta-%d.cairn-meta.storage.svc.cluster.local:7001", i, i))
	}
	return strings.Join(out, ",")
}

func sts(t *testing.T, r rendered, name string) *appsv1.StatefulSet {
	t.Helper()
	s, ok := r["StatefulSet/"+name].(*appsv1.StatefulSet)
	if !ok {
		t.Fatalf("no StatefulSet %s", name)
	}
	return s
}

func container(t *testing.T, spec *corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

func wantReplicas(t *testing.T, what string, got *int32, want int32) {
	t.Helper()
	if got == nil || *got != want {
		t.Errorf("%s replicas %v, want %d", what, got, want)
	}
}

func wantArg(t *testing.T, c corev1.Container, arg string) {
	t.Helper()
	for _, a := range c.Args {
		if a == arg {
			return
		}
	}
	t.Errorf("container %s lacks %s in %q", c.Name, arg, c.Args)
}

func wantPDB(t *testing.T, r rendered, name string, maxUnavailable int) {
	t.Helper()
	p, ok := r["PodDisruptionBudget/"+name].(*policyv1.PodDisruptionBudget)
	if !ok || p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != maxUnavailable {
		t.Errorf("PodDisruptionBudget %s: want maxUnavailable %d, got %+v", name, maxUnavailable, p)
	}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestSchemaRefusesNonsense: values that cannot work are refused before
// anything renders, and the error says which value and why.
func TestSchemaRefusesNonsense(t *testing.T) {
	ch, _ := loadChart(t)
	for _, c := range []struct{ name, values, want string }{
		{"2 meta", `meta: {replicas: 2}`, "/meta/replicas"},
		{"4 meta", `meta: {replicas: 4}`, "/meta/replicas"},
		{"more initial voters than meta", `meta: {replicas: 3, bootstrapVoters: 5}`, "/meta/bootstrapVoters"},
		{"k+m over data replicas", `{erasure: {dataShards: 6, parityShards: 3}, data: {replicas: 8}}`, "at '/data/replicas': minimum: got 8, want 9"},
		{"default 4+2 on 5 data", `data: {replicas: 5}`, "at '/data/replicas': minimum: got 5, want 6"},
		{"data PDB over parity", `data: {pdb: {maxUnavailable: 3}}`, "at '/data/pdb/maxUnavailable': maximum: got 3, want 2"},
		{"write quorum above k+m", `erasure: {writeQuorum: 7}`, "/erasure/writeQuorum"},
		{"write quorum below k", `erasure: {writeQuorum: 3}`, "/erasure/writeQuorum"},
		{"unknown value", `erasure: {scheme: "4+2"}`, "additional properties 'scheme' not allowed"},
		{"string replicas", `data: {replicas: "six"}`, "/data/replicas"},
		{"cert-manager without issuer", `internalTLS: {certManager: {enabled: true}}`, "/internalTLS/certManager/issuerRef"},
		{"namespace endpoints without domain", `gateway: {namespaceEndpoints: {enabled: true, namespaces: [acme]}}`, "/gateway/namespaceEndpoints"},
		{"HTTPS without a certificate", `gateway: {tls: {enabled: true}}`, "/gateway/tls/secretName"},
		{"bad cluster name", `clusterName: "a/b"`, "/clusterName"},
		{"backups keeping none", `meta: {backup: {enabled: true, keep: 0}}`, "/meta/backup/keep"},
		{"backup without a schedule", `meta: {backup: {enabled: true, schedule: ""}}`, "/meta/backup/schedule"},
	} {
		_, err := render(ch, parseValues(t, c.values))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// TestSchemaErasureRule checks the schema's per-(k,m) rules against the
// rule they encode, k+m <= data.replicas, for every k and m it allows (the
// schema compiled once, as Helm compiles it).
func TestSchemaErasureRule(t *testing.T) {
	ch, _ := loadChart(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ch.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("values.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 16; k++ {
		for m := 1; m <= 8; m++ {
			for _, replicas := range []int{k + m - 1, k + m} {
				vals := map[string]any{
					"erasure": map[string]any{"dataShards": k, "parityShards": m},
					"data":    map[string]any{"replicas": replicas, "pdb": map[string]any{"maxUnavailable": 1}},
				}
				v, err := util.CoalesceValues(ch, vals)
				if err != nil {
					t.Fatal(err)
				}
				// Through JSON, as Helm validates: numbers become float64.
				b, err := json.Marshal(v.AsMap())
				if err != nil {
					t.Fatal(err)
				}
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				err = schema.Validate(inst)
				if ok := k+m <= replicas && replicas >= 3; ok != (err == nil) {
					t.Errorf("k=%d m=%d replicas=%d: schema says %v", k, m, replicas, err)
				}
			}
		}
	}
}

// TestConfigChangeRollsPods: a change to the ConfigMap changes the
// checksum on every pod template (so the pods roll); a change elsewhere
// leaves it alone.
func TestConfigChangeRollsPods(t *testing.T) {
	ch, _ := loadChart(t)
	checksums := func(values string) map[string]string {
		manifests, err := render(ch, parseValues(t, values))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, o := range decodeAll(t, manifests) {
			switch v := o.obj.(type) {
			case *appsv1.StatefulSet:
				out[o.name] = v.Spec.Template.Annotations["checksum/config"]
			case *appsv1.Deployment:
				out[o.name] = v.Spec.Template.Annotations["checksum/config"]
			}
		}
		return out
	}
	base := checksums(``)
	region := checksums(`region: eu-west-1`)
	replicas := checksums(`gateway: {replicas: 4}`)
	if len(base) != 3 {
		t.Fatalf("want 3 workloads, got %v", base)
	}
	for name, sum := range base {
		if region[name] == sum {
			t.Errorf("%s: a new region does not change checksum/config", name)
		}
		if replicas[name] != sum {
			t.Errorf("%s: gateway replicas changed checksum/config", name)
		}
	}
}
