// Package fsmtest holds the command builders and small helpers that tests
// of meta/fsm and of meta share: a bucket, an object version, a namespace,
// a user, a multipart part, the errors.Is check and the test logger. It
// imports only proto, so meta/fsm's own tests can use it too.
package fsmtest
