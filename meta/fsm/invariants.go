//go:build invariants || race

package fsm

// invariants turns on assertions too costly, or too drastic, for
// production: built with -race (as the tests are) or -tags invariants, a
// broken invariant panics where it breaks. In this build it is on.
const invariants = true
