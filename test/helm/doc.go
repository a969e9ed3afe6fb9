// Package helm tests the Helm chart in deploy/helm/cairn with Helm's own
// Go library, without a helm binary or a cluster: the chart lints clean;
// it renders with the default values and the value sets in cases_test.go;
// every rendered object decodes strictly (unknown fields are errors) into
// its k8s.io/api type (cert-manager and Prometheus Operator objects into
// local mirrors of the fields the chart uses); the values schema refuses
// nonsense with the reason; and every container's command line is
// accepted by the real cairn and cairnctl flag parsers.
//
// It is a module of its own, so that Helm's and Kubernetes' requirements
// do not raise the versions of modules the Cairn binaries link; `make test`
// and `make vet` run it from this directory.
package helm
