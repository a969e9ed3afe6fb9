//go:build !invariants && !race

package fsm

// invariants is off in this build; see invariants.go.
const invariants = false
