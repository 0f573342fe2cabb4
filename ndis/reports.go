package ndis

import (
	"sync"
	"time"

	"webminiport/pool"
)

// Report is one misuse or watchdog finding, for the UI's error list.
type Report struct {
	Seq  uint64 // 1 for the first report of the adapter
	Time time.Time
	Err  *pool.MisuseError
}

// reportLog keeps the last max reports.
type reportLog struct {
	mu    sync.Mutex
	max   int
	seq   uint64
	items []Report // oldest first, at most max
}

func (r *reportLog) add(t time.Time, err *pool.MisuseError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	if len(r.items) == r.max {
		copy(r.items, r.items[1:])
		r.items = r.items[:r.max-1]
	}
	r.items = append(r.items, Report{Seq: r.seq, Time: t, Err: err})
}

// Reports returns the kept reports, oldest first: the last Config.MaxReports of them.
func (a *Adapter) Reports() []Report {
	a.reports.mu.Lock()
	defer a.reports.mu.Unlock()
	return append([]Report(nil), a.reports.items...)
}

// ReportCount returns how many reports were raised since the adapter was made, including those no
// longer kept.
func (a *Adapter) ReportCount() uint64 {
	a.reports.mu.Lock()
	defer a.reports.mu.Unlock()
	return a.reports.seq
}
