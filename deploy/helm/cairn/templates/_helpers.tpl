{{/* The prefix of every object's name. */}}
{{- define "cairn.fullname" -}}
{{- if contains "cairn" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-cairn" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cairn.labels" -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include with (list $ "meta"). */}}
{{- define "cairn.selector" -}}
app.kubernetes.io/name: cairn
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "cairn.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "cairn.metaName" -}}{{ include "cairn.fullname" . }}-meta{{- end -}}
{{- define "cairn.dataName" -}}{{ include "cairn.fullname" . }}-data{{- end -}}
{{- define "cairn.gatewayName" -}}{{ include "cairn.fullname" . }}-gateway{{- end -}}

{{/* Stable DNS name of meta pod i: include with (list $ i). */}}
{{- define "cairn.metaHost" -}}
{{- $ := index . 0 -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "cairn.metaName" $) (index . 1) (include "cairn.metaName" $) $.Release.Namespace $.Values.clusterDomain -}}
{{- end -}}

{{/* The meta nodes' gRPC addresses, comma separated. */}}
{{- define "cairn.metaAddrs" -}}
{{- $ := . -}}
{{- $out := list -}}
{{- range $i := until (int .Values.meta.replicas) -}}
{{- $out = append $out (printf "%s:%d" (include "cairn.metaHost" (list $ $i)) (int $.Values.meta.ports.grpc)) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* The initial voters as id=raftaddr,... */}}
{{- define "cairn.metaPeers" -}}
{{- $ := . -}}
{{- $out := list -}}
{{- range $i := until (int .Values.meta.bootstrapVoters) -}}
{{- $out = append $out (printf "%s-%d=%s:%d" (include "cairn.metaName" $) $i (include "cairn.metaHost" (list $ $i)) (int $.Values.meta.ports.raft)) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* Secret names. */}}
{{- define "cairn.adminTokenSecret" -}}{{ include "cairn.fullname" . }}-admin-token{{- end -}}
{{- define "cairn.masterKeySecret" -}}{{ include "cairn.fullname" . }}-master-key{{- end -}}
{{- define "cairn.s3KeySecret" -}}{{ include "cairn.fullname" . }}-s3-credentials{{- end -}}
{{- define "cairn.tlsSecret" -}}{{ include "cairn.fullname" . }}-internal-tls{{- end -}}
{{- define "cairn.caSecret" -}}{{ include "cairn.fullname" . }}-internal-ca{{- end -}}
{{- define "cairn.gatewayTLSSecret" -}}
{{- .Values.gateway.tls.secretName | default (printf "%s-gateway-tls" (include "cairn.fullname" .)) -}}
{{- end -}}

{{/* The gateway's virtual-host domains, namespace endpoints included. */}}
{{- define "cairn.gatewayDomains" -}}
{{- $out := .Values.gateway.domains -}}
{{- if .Values.gateway.namespaceEndpoints.enabled -}}
{{- range .Values.gateway.namespaceEndpoints.namespaces -}}
{{- $out = append $out (printf "%s.compat.objectstorage.%s.%s" . $.Values.region $.Values.gateway.namespaceEndpoints.domain) -}}
{{- end -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/*
Internal TLS volume of a role: include with (list $ "meta"). With
cert-manager every identity has its own Secret (tls.crt, tls.key,
ca.crt), projected into one directory as <role>-<id>.crt/.key; else the
hook's Secret holds them all under those names already.
*/}}
{{- define "cairn.tlsVolume" -}}
{{- $ := index . 0 -}}
{{- $role := index . 1 -}}
- name: internal-tls
  projected:
    defaultMode: 0440
    sources:
{{- range $id := include "cairn.identities" (list $ $role) | fromJsonArray }}
{{- if $.Values.internalTLS.certManager.enabled }}
      - secret:
          name: {{ include "cairn.fullname" $ }}-tls-{{ $role }}-{{ $id }}
          items:
            - {key: tls.crt, path: {{ $role }}-{{ $id }}.crt}
            - {key: tls.key, path: {{ $role }}-{{ $id }}.key}
{{- else }}
      - secret:
          name: {{ include "cairn.tlsSecret" $ }}
          items:
            - {key: {{ $role }}-{{ $id }}.crt, path: {{ $role }}-{{ $id }}.crt}
            - {key: {{ $role }}-{{ $id }}.key, path: {{ $role }}-{{ $id }}.key}
{{- end }}
{{- end }}
      - secret:
{{- if $.Values.internalTLS.certManager.enabled }}
          name: {{ include "cairn.fullname" $ }}-tls-{{ $role }}-{{ index (include "cairn.identities" (list $ $role) | fromJsonArray) 0 }}
{{- else }}
          name: {{ include "cairn.tlsSecret" $ }}
{{- end }}
          items:
            - {key: ca.crt, path: ca.crt}
{{- end -}}

{{/* The IDs of a role's processes, as a JSON list: (list $ "meta"). */}}
{{- define "cairn.identities" -}}
{{- $ := index . 0 -}}
{{- $role := index . 1 -}}
{{- $out := list -}}
{{- if eq $role "meta" -}}
{{- range $i := until (int $.Values.meta.replicas) -}}{{- $out = append $out (printf "%s-%d" (include "cairn.metaName" $) $i) -}}{{- end -}}
{{- else if eq $role "data" -}}
{{- range $i := until (int $.Values.data.replicas) -}}{{- $out = append $out (printf "%s-%d" (include "cairn.dataName" $) $i) -}}{{- end -}}
{{- else if eq $role "gateway" -}}
{{- $out = list "gateway" -}}
{{- else if eq $role "admin" -}}
{{- $out = list "chart" -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Environment every Cairn process gets: include with (list $ resources). */}}
{{- define "cairn.podEnv" -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: NODE_NAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
{{- with include "cairn.goMemLimit" (index . 1) }}
- name: GOMEMLIMIT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Probes on the ops port: include with (list "ops" readyPath). */}}
{{- define "cairn.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: ops}
  periodSeconds: 5
  failureThreshold: 120
livenessProbe:
  httpGet: {path: /healthz, port: ops}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 6
readinessProbe:
  httpGet: {path: /readyz, port: ops}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
{{- end -}}

{{/* The admin client flags of cairnctl in the chart's Jobs. */}}
{{- define "cairn.ctlFlags" -}}
- --addr={{ include "cairn.metaAddrs" . }}
- --ca=/etc/cairn/tls/ca.crt
- --cert=/etc/cairn/tls/admin-chart.crt
- --key=/etc/cairn/tls/admin-chart.key
- --token-file=/etc/cairn/admin/token
{{- end -}}

{{/*
GOMEMLIMIT for a memory limit such as 512Mi or 2Gi: 90% of it in MiB, so
the Go runtime collects before the kernel kills. Empty without a limit.
*/}}
{{- define "cairn.goMemLimit" -}}
{{- $l := toString (dig "limits" "memory" "" .) -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $l -}}{{- $mib = mul (trimSuffix "Gi" $l | int) 1024 -}}
{{- else if hasSuffix "Mi" $l -}}{{- $mib = trimSuffix "Mi" $l | int -}}
{{- else if hasSuffix "G" $l -}}{{- $mib = div (mul (trimSuffix "G" $l | int) 1000000000) 1048576 -}}
{{- else if hasSuffix "M" $l -}}{{- $mib = div (mul (trimSuffix "M" $l | int) 1000000) 1048576 -}}
{{- end -}}
{{- if gt (int $mib) 0 -}}{{ div (mul $mib 9) 10 }}MiB{{- end -}}
{{- end -}}

{{/* One pod of a component per node: (list $ "meta"). */}}
{{- define "cairn.antiAffinity" -}}
{{- $ := index . 0 -}}
podAntiAffinity:
{{- if eq $.Values.podAntiAffinity "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "cairn.selector" . | nindent 10 }}
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "cairn.selector" . | nindent 12 }}
{{- end }}
{{- end -}}
