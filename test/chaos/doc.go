// Package chaos is Cairn's fault-injection suite. Its tests start real
// `cairn` processes through test/harness, run clients that PUT, GET,
// DELETE and LIST a small set of keys through the S3 gateway, and meanwhile
// let a nemesis kill -9 and restart processes, pause them with SIGSTOP,
// and — as root, with every process in its own network namespace — cut
// processes off from each other.
//
// Every client operation is recorded in a History: its invocation and
// return times, its input, and its outcome, with object bodies reduced to
// their MD5 (the ETag a LIST reports). Check then verifies:
//
//   - no GET or LIST returns a value that no PUT ever wrote;
//   - single-key operations are linearizable (porcupine, one partition per
//     key, LISTs projected onto each key as reads of it): in particular
//     every acknowledged PUT is read back with its bytes until a later
//     write or delete, and a final read of every key after the faults are
//     healed must agree.
//
// A write that failed ambiguously (timeout, 5xx, connection cut) may or may
// not have happened: it is kept with an open-ended return time. A read
// that failed tells nothing and is dropped, as is a write refused before
// it reached the gateway (connection refused).
//
// The short randomized run goes with `go test ./...`; `make chaos` runs a
// long one (CAIRN_CHAOS_DURATION). See docs/fault-testing.md.
package chaos
