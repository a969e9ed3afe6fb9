package meta

// A relocation applies only while the record still names the old
// location; it queues the old shard for GC (not on a removed node), clears
// its corrupt report and recomputes the degraded flag.
