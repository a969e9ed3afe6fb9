// Package fsmfixture is the replicated state machine as a test fixture
// for the packages around it (meta, meta/jobs): an FSM on a fresh store,
// commands applied as Raft would apply them, and reads of what they left,
// all through package fsm's exported API. Package fsm's own tests have
// their helpers over its internals (fsm cannot import this package).
package fsmfixture
