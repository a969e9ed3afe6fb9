// Package harness starts real Cairn clusters for tests: separate `cairn
// meta`, `cairn data` and `cairn gateway` processes on 127.0.0.1, each with
// its own directory under a test temp dir, and lets a test kill -9, pause,
// resume and restart any one of them.
//
// Processes run the real binary built from this tree (Build), so the tests
// exercise exactly what an operator runs: real Raft over TCP, real Pebble on
// disk, real erasure coding, real gRPC.
package harness
