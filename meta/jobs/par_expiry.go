package jobs

import (
	"context"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The removal of dead PAR records ("par-expiry").
//
// An expired pre-authenticated request is refused by every gateway at
// once (they judge expiry by their clock); its record stays until this
// job removes it, PARExpiryGrace after its expiry, so that operators
// still see a link that lapsed lately (cairnctl par list). Records whose
// bucket was deleted (or deleted and made again) are dead at once and
// go in the same round. Every PARExpiryInterval the leader walks the PAR
// records in pages and proposes one PrunePARsCmd per page of dead ones;
// the apply judges each again, so a record that changed since is left.

const (
	// PARExpiryInterval is the wait between rounds.
	PARExpiryInterval = time.Hour
	// PARExpiryGrace is how long an expired PAR's record is kept.
	PARExpiryGrace = 24 * time.Hour
	// parExpiryPage is how many records a round reads per page.
	parExpiryPage = 500
)

// newPARExpiryJob returns the leader's removal of dead PAR records.
func newPARExpiryJob(env *Env) leaderjob.Job { return &parExpiryJob{env: env} }

type parExpiryJob struct{ env *Env }

func (j *parExpiryJob) Name() string            { return NamePARExpiry }
func (j *parExpiryJob) Interval() time.Duration { return PARExpiryInterval }

func (j *parExpiryJob) Round(ctx context.Context) error {
	n, err := pruneDeadPARs(ctx, j.env, j.env.Now().Add(-PARExpiryGrace))
	if n > 0 {
		j.env.Logger.Info("removed the records of dead pre-authenticated requests", "pars", n)
	}
	return err
}

// pruneDeadPARs proposes the removal of every PAR record that expired at
// or before cutoff or whose bucket is gone, a page at a time, and
// returns how many it named.
func pruneDeadPARs(ctx context.Context, env *Env, cutoff time.Time) (int, error) {
	total := 0
	var from []byte
	for {
		var dead []*cairnpb.DeletePARCmd
		err := env.Store.View(func(r pebble.Reader) error {
			var err error
			dead, from, err = fsm.PrunablePARs(r, cutoff.UnixNano(), from, parExpiryPage)
			return err
		})
		if err != nil {
			return total, err
		}
		if len(dead) > 0 {
			cmd := &cairnpb.Command{Op: &cairnpb.Command_PrunePars{PrunePars: &cairnpb.PrunePARsCmd{
				Pars: dead, ExpiredBeforeUnixNano: cutoff.UnixNano(),
			}}}
			if err := env.Propose(ctx, cmd); err != nil {
				return total, err
			}
			total += len(dead)
		}
		if from == nil {
			return total, nil
		}
	}
}
