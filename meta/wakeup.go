package meta

import "sync"

// wakeup lets callers start a leader's background loop (repair, rebalance,
// re-wrap) early: kick never blocks, and kicks that arrive while one is
// pending collapse into it. The zero value is ready to use.
type wakeup struct {
	once sync.Once
	ch   chan struct{}
}

func (w *wakeup) channel() chan struct{} {
	w.once.Do(func() { w.ch = make(chan struct{}, 1) })
	return w.ch
}

// kick asks the loop to run now.
func (w *wakeup) kick() {
	select {
	case w.channel() <- struct{}{}:
	default:
	}
}

// kicked is where the loop waits for a kick.
func (w *wakeup) kicked() <-chan struct{} { return w.channel() }

// leaderReady waits until ld's post-election barrier has passed, and
// reports false if the leadership ended first.
func leaderReady(ld *leadership) bool {
	select {
	case <-ld.ready:
		return true
	case <-ld.ctx.Done():
		return false
	}
}
