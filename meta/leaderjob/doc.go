// Package leaderjob runs the background jobs of a Raft leader: work that
// only the leader does (garbage collection, repair, rebalancing, ...) and
// that must start when a term of leadership begins and stop when it ends.
//
// A job implements Job: a name, one round of work, and the wait before the
// next round. A Runner gives every job the same machinery:
//
//   - start and stop with leadership: Lead starts one loop per job for a
//     term, after the term's readiness signal (the post-election barrier);
//     the loops end with the term's context. A job's loop for a new term
//     waits until its loop for the previous term has ended, so two rounds
//     of one job never overlap.
//   - kicks: a job that returns a Kick from Kicks is woken early by
//     Kick.Kick. Kicks coalesce: any number of them while one is pending,
//     or before a round starts, cause one round.
//   - pacing: Pacer spreads a job's work (bytes, shards) to a rate;
//     Sleep waits out a pause unless the context ends first.
//   - status and metrics: rounds, failed rounds, the last error, the last
//     round's duration and the last success of every job, as Status and as
//     Prometheus series labelled job=<name> (Collector).
//
// The package knows nothing of any particular job, of Raft or of the
// cluster: a caller supplies the term (a context and a readiness channel)
// and the jobs.
//
// # Invariants
//
//   - A job's rounds run one at a time, only between its term's readiness
//     and the end of its term's context.
//   - A failed round is logged, counted and followed by the next round
//     after the job's interval, as a successful one would be; a round cut
//     short by the end of its term is not counted as failed.
//   - Job names are unique within a runner; New refuses duplicates.
package leaderjob
