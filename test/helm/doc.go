// Package helm tests the Helm chart in deploy/helm/cairn with Helm's own
// Go library, without a helm binary or a cluster: the chart lints clean;
// it renders with the default values and the value sets in cases_test.go;
// every rendered object decodes strictly (unknown fields are errors) into
// its k8s.io/api type (cert-manager and Prometheus Operator objects into
// local mirrors of the fields the chart uses); the values schema refuses
// nonsense with the reason; and every container's command line is
// accepted by the real cairn and cairnctl flag parsers.
//
// TestBootRenderedTopology runs the rendering: localKube (localkube_test.go)
// starts each pod as a local process of the cairn and cairnctl binaries
// built from this tree, with its rendered arguments, environment and
// volume files, every pod on its own loopback address and the cluster's
// DNS names in a hosts file, both handed to the binaries through their
// test network seam (proto/netseam); fakeAPI (kubeapi_test.go) stands in
// for the API server the secrets hook writes to. docs/kubernetes.md
// describes the mapping.
//
// It is a module of its own, so that Helm's and Kubernetes' requirements
// do not raise the versions of modules the Cairn binaries link; `make test`
// and `make vet` run it from this directory.
package helm
