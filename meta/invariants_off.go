//go:build !invariants && !race

package meta

// invariants is off in this build; see invariants.go.
const invariants = false
