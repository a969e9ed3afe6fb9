// Package bench is the S3 load generator behind `cairn bench`.
//
// It owns everything between a parsed Config and a list of measured Results:
// building a plain S3 client (aws-sdk-go-v2, path-style addressing, static or
// anonymous credentials, no retries) for an arbitrary endpoint, creating the
// bucket if needed, pre-populating the key space for GET workloads, driving
// PUT/GET/mixed traffic at a fixed concurrency for a duration or an operation
// count, collecting per-operation latencies, optionally verifying object
// content, and deleting what it wrote. It speaks only the public S3 protocol,
// so the same run can be pointed at Cairn or at any other S3 server and the
// numbers compared side by side.
//
// Flag parsing and the `cairn bench` subcommand itself live with the cairn
// binary; this package holds no global state and does no I/O other than
// through the S3 client and the caller's Config.Out writer.
package bench
