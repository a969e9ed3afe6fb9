// Package modeltest holds in-memory stand-ins for the object model's
// backends, for the unit tests of the model and of its front ends: data
// nodes that keep shards in a map (Shards) and a cluster of healthy nodes
// on hosts of their own (Cluster). Acceptance tests use real processes;
// these are for tests of one package's logic.
package modeltest
