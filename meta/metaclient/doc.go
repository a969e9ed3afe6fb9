// Package metaclient is the client side of the meta group's gRPC services.
// It holds connections to every known meta node and sends each call to the
// one that last answered, moving on to the next node when a call fails in a
// way another node might not (unreachable, no leader, not the leader), until
// the caller's context ends. A follower that forwarded a call to its leader
// names the leader in a response header (LeaderHeader); when the client was
// given that address, later calls go to the leader directly, saving a hop. Status errors come back as the rpcerr sentinels.
// Each call carries one request ID and start time on all its attempts, so
// the meta group applies a mutating call at most once.
//
// It imports only proto packages, so the gateway, data nodes and cairnctl
// can use it without depending on the meta server.
package metaclient
