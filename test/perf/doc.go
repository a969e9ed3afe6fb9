// Package perf is `make test`'s throughput smoke check (issue 16): it fails
// when Cairn's PUT or GET throughput drops sharply, judged against a
// baseline measured in the same run rather than against a fixed time, so a
// slow or loaded machine moves both and the check does not flake.
//
// The test builds cairn and nulls3 (an S3 stand-in that stores nothing)
// without -race, starts `cairn dev` and nulls3 as separate processes, and
// drives both with `cairn bench -json` in alternating rounds: 64 MiB
// objects PUT and then read back. The baseline is therefore the same bytes
// through the same client over loopback HTTP; the ratio Cairn/baseline
// measures Cairn's own cost per byte, and the test fails when it falls
// below a floor set well under the worst ratio measured on a loaded
// 2-core machine (smoke_test.go says how it was chosen).
//
// Invariants:
//   - Only ratios within one run are compared; no absolute throughput or
//     duration is asserted.
//   - Both servers and the client run without the race detector whatever
//     flags the test itself runs with, so -race does not skew the ratio.
//   - It starts processes only on 127.0.0.1 and stops them when it ends.
package perf
