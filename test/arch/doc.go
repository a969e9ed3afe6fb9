// Package arch checks Cairn's package dependency rules with `go list`, so
// they are enforced by a test rather than remembered; and, by parsing the
// module's Go files, that the kind of a Raft command is decided in one
// place only (meta's command registry).
package arch
