// Package ops serves a process's operational HTTP endpoints on their own
// listener, apart from the S3 and gRPC traffic: /healthz (the process is
// up), /readyz (it can serve: a check supplied by the process), /metrics
// (Prometheus, from a registry the process fills; no global registry) and
// /debug/pprof for profiling.
package ops
