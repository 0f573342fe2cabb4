package ndis

import (
	"time"

	"webminiport/pool"
)

// Check runs the watchdogs of specs/ndis.md §9 item 26 at time now and returns what they raised
// (also kept in Reports). Nothing crashes and nothing is reported twice:
//   - an NBL held by the protocol longer than Config.StuckNBLTimeout: STUCK_NBL;
//   - an NBL left to reclaim after a RESOURCES indication that long: RESOURCES_NBL_LEAK;
//   - a send not completed within Config.SendTimeout: SEND_NOT_COMPLETED;
//   - a pause pending longer than Config.PauseTimeout: WATCHDOG_PAUSE;
//   - a halt running longer than Config.HaltTimeout: WATCHDOG_HALT.
//
// The owner of the adapter calls it periodically (once a second is plenty); there is no
// goroutine of its own.
func (a *Adapter) Check(now time.Time) []*pool.MisuseError {
	var raised []*pool.MisuseError
	t := now.UnixNano()
	a.stamp.store(t) // bounds how stale a per-frame log time can be
	for _, e := range *a.pools.Load() {
		for i := range e.slots {
			s := &e.slots[i]
			since := s.since.load()
			if since == 0 || s.reported.load() {
				continue
			}
			h := e.p.HandleAt(i)
			if h == 0 {
				continue
			}
			var class pool.MisuseClass
			var limit time.Duration
			switch e.p.Owner(h) {
			case OwnerProtocol:
				class, limit = pool.StuckNBL, a.cfg.StuckNBLTimeout
			case OwnerReclaim:
				class, limit = pool.ResourcesNBLLeak, a.cfg.StuckNBLTimeout
			case OwnerSendInFlight:
				class, limit = pool.SendNotCompleted, a.cfg.SendTimeout
			default:
				continue
			}
			held := time.Duration(t - since)
			if held < limit || !s.reported.compareAndSwap(false, true) {
				continue
			}
			raised = append(raised, a.misuse(class, e, h, "%s for %v (limit %v)", OwnerName(e.p.Owner(h)), held, limit))
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == Pausing && a.pausePending && !a.pauseWatched && now.Sub(a.pauseStarted) >= a.cfg.PauseTimeout {
		a.pauseWatched = true
		raised = append(raised, a.misuse(pool.WatchdogPause, nil, 0,
			"adapter %q: pause pending for %v with %d receive NBLs outstanding and %d sends pending",
			a.name, now.Sub(a.pauseStarted), a.outstanding.Load(), a.sendsPending.Load()))
	}
	if a.halting && !a.haltWatched && now.Sub(a.haltStarted) >= a.cfg.HaltTimeout {
		a.haltWatched = true
		raised = append(raised, a.misuse(pool.WatchdogHalt, nil, 0, "adapter %q: MiniportHaltEx running for %v", a.name, now.Sub(a.haltStarted)))
	}
	return raised
}
