// Package arch checks Cairn's package dependency rules with `go list`, so
// they are enforced by a test rather than remembered.
package arch
