// Package cluster is the gateway's gRPC view of a Cairn region: the meta
// group (through meta/metaclient) and the data nodes (through
// node/dataclient, one pooled gRPC connection per node). It keeps a cached
// copy of the cluster map, refreshed in the background, so a PUT chooses
// its data nodes without a meta round trip.
//
// It depends only on proto packages, metaclient and dataclient; it never
// sees HTTP.
package cluster
