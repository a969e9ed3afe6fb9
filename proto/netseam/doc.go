// Package netseam is a test-only seam between a Cairn process and the
// network names it dials and listens on. It exists so that a test can run
// the Helm chart's rendered command lines, which name pods and Services by
// their Kubernetes DNS names, as local processes (test/helm's boot test).
//
// Two environment variables switch it on, together or not at all:
// CAIRN_TEST_HOSTS names a hosts file ("IP name name ..." lines, as
// /etc/hosts), standing in for the cluster's DNS; CAIRN_TEST_POD_IP is the
// address standing in for the process's own pod IP. They are not flags, so
// no usage text shows them; docs/kubernetes.md says what they are for.
//
// Invariants:
//   - Without the variables a *Net is nil and every method does what the
//     system would: names go to the system resolver, ":port" listens on
//     every interface. Production never takes another path.
//   - With them, every name is looked up in the hosts file only, read
//     afresh at each lookup (a test adds names as "pods" appear); a name
//     missing there fails as an unknown host would, never falling back to
//     the system resolver, so a wrong name in a command line shows.
//   - A listen address with no host or an unspecified one binds to the pod
//     IP, as ":port" in a pod's own network namespace would.
package netseam
