package meta

import (
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Bootstrapping a group is safe only when there is no group yet. Every
// initial voter is started with the same Peers and Bootstrap, so a voter
// that comes back with an empty directory (its disk or volume lost) would
// otherwise write the initial configuration again. One such voter is
// caught up by the leader anyway; but two of three, bootstrapping while
// the third is away, can elect each other and serve an empty group beside
// the real one: a split brain.
//
// So a node with no Raft state does not bootstrap at once. It starts Raft
// with no configuration (it neither campaigns nor leads) and asks every
// other initial voter for its current term, with a Raft pre-vote request
// of term 0, which changes nothing on the receiver and is answered with
// the receiver's term. Then:
//
//   - a peer at term 2 or more belongs to a group that has held an
//     election: the group exists, and this node does not bootstrap. It
//     stays in the group's configuration, so the leader sends it a
//     snapshot and the log, as to any follower that fell behind;
//   - every peer answered at term 0 or 1 (empty, or bootstrapped with no
//     election yet, so nothing was ever committed): the node bootstraps;
//   - otherwise (a peer did not answer) it asks again, and keeps waiting
//     rather than guess. A new group therefore forms once every initial
//     voter is up, not merely a majority.
//
// A node caught up by a leader while it asks stops asking.

// bootstrapProbeInterval is the pause between rounds of asking the peers.
const bootstrapProbeInterval = 500 * time.Millisecond

// bootstrapWhenSafe bootstraps servers as the group's initial
// configuration once the rules above allow it, or returns when they say
// not to, or when the node stops. It sets n.bootstrapped and closes
// n.bootstrapDecided.
func (n *node) bootstrapWhenSafe(servers []raft.Server) {
	defer close(n.bootstrapDecided)
	log := n.cfg.Logger
	var others []raft.Server
	for _, s := range servers {
		if s.ID != raft.ServerID(n.cfg.ID) {
			others = append(others, s)
		}
	}
	for round := 0; ; round++ {
		if n.raft.LastIndex() > 0 {
			log.Info("this node has been given the group's state by its leader; not bootstrapping")
			return
		}
		terms, silent := n.peerTerms(others)
		for id, term := range terms {
			if term >= 2 {
				log.Warn("this node has no Raft state, but its group exists: not bootstrapping; its leader will send it the group's state",
					"peer", id, "peer_term", term)
				return
			}
		}
		if len(silent) == 0 {
			err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
			switch {
			case errors.Is(err, raft.ErrRaftShutdown):
			case errors.Is(err, raft.ErrCantBootstrap):
				log.Info("this node received Raft state while bootstrapping; not bootstrapping")
			case err != nil:
				log.Error("bootstrap raft group", "err", err)
			default:
				n.bootstrapped = true
				log.Info("bootstrapped raft group", "peers", len(servers))
			}
			return
		}
		if round%20 == 0 {
			log.Info("waiting for every initial voter to answer before bootstrapping", "silent", silent)
		}
		select {
		case <-n.stop:
			return
		case <-time.After(bootstrapProbeInterval):
		}
	}
}

// peerTerms asks each peer for its current term, all at once; it returns
// the terms of those that answered and the IDs of those that did not.
func (n *node) peerTerms(peers []raft.Server) (map[raft.ServerID]uint64, []raft.ServerID) {
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		terms  = map[raft.ServerID]uint64{}
		silent []raft.ServerID
	)
	header := raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersionMax,
		ID:              []byte(n.cfg.ID),
		Addr:            n.trans.EncodePeer(raft.ServerID(n.cfg.ID), n.trans.LocalAddr()),
	}
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resp raft.RequestPreVoteResponse
			err := n.trans.RequestPreVote(p.ID, p.Address, &raft.RequestPreVoteRequest{RPCHeader: header}, &resp)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				silent = append(silent, p.ID)
				return
			}
			terms[p.ID] = resp.Term
		}()
	}
	wg.Wait()
	return terms, silent
}
