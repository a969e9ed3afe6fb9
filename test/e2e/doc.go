// Package e2e holds Cairn's acceptance tests: each starts a real
// multi-process cluster with the harness and drives it with unchanged
// client libraries.
package e2e
