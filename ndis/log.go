package ndis

import (
	"fmt"
	"sync"

	"webminiport/pool"
)

// LogKind is what happened to an NBL: one event of the tracking log (like !ndiskd.nbllog).
type LogKind uint8

// Tracking-log events. The spec names Allocated, Freed, Sent and SendCompleted; the receive-side
// names are this model's (specs/ndis.md §12 says the real ones are unconfirmed).
const (
	LogAllocated          LogKind = iota + 1 // allocated from its pool (NdisAllocateNetBufferList)
	LogFreed                                 // freed to its pool (NdisFreeNetBufferList)
	LogTaken                                 // taken off a free list to be filled
	LogPosted                                // posted to the device as a receive buffer
	LogDeviceFilled                          // the device filled a posted buffer with a frame
	LogFiltered                              // frame refused by the packet filter; back to the free list
	LogIndicated                             // indicated to the protocol (NdisMIndicateReceiveNetBufferLists)
	LogIndicatedResources                    // indicated with NDIS_RECEIVE_FLAGS_RESOURCES
	LogReclaimed                             // back at the miniport when a RESOURCES indication returned
	LogReturned                              // returned by the protocol (NdisReturnNetBufferLists → MiniportReturnNetBufferLists)
	LogRecycled                              // put back on its owner's free list (not into the pool)
	LogDropped                               // a frame dropped because the free list was empty (no NBL)
	LogSent                                  // sent (NdisSendNetBufferLists → MiniportSendNetBufferLists)
	LogSendCompleted                         // send completed (NdisMSendNetBufferListsComplete)
	numLogKinds
)

var logKindNames = [numLogKinds]string{"", "Allocated", "Freed", "Taken", "Posted", "DeviceFilled", "Filtered",
	"Indicated", "IndicatedResources", "Reclaimed", "Returned", "Recycled", "Dropped", "Sent", "SendCompleted"}

func (k LogKind) String() string {
	if k > 0 && k < numLogKinds {
		return logKindNames[k]
	}
	return fmt.Sprintf("LogKind(%d)", uint8(k))
}

// LogEntry is one tracking-log event.
type LogEntry struct {
	Seq       uint64     // position in the log since the adapter was made, from 1
	Time      int64      // the adapter clock, Unix nanoseconds
	NBL       pool.NBL   // 0 for LogDropped
	Pool      uint16     // handle of the NBL's pool in the views (PoolView.Handle)
	Kind      LogKind    // what happened
	Component Component  // who did it
	Owner     pool.Owner // the NBL's owner after the event
	// Arg: receive/return/send flags for Indicated, Returned, Sent; the status for SendCompleted;
	// the frame length for DeviceFilled and Filtered.
	Arg uint32
}

// DefaultLogSize is the tracking-log capacity in events when Config.LogSize is 0: enough for the
// whole life of a few hundred NBLs, in 4096 × 36 bytes of memory.
const DefaultLogSize = 4096

// eventLog is the bounded ring of tracking-log events. The rings are allocated once, so logging
// never allocates.
//
// A chain that changes hands at once makes events that differ only in their NBL: same time,
// pool, kind, component, owner and argument. The log keeps such consecutive events as one run
// (the shared fields, once) plus one NBL handle per event, so an indication of 32 NBLs writes 32
// handles and one run instead of 32 whole entries. Seq still counts events, and the views expand
// runs back into one LogEntry per event: nothing a reader sees depends on how events were
// grouped.
//
// mu is also the adapter's bookkeeping lock for the free lists and counters of RxEngine and
// SendPool, so that a frame's free-list change, owner change and log entry take one lock.
type eventLog struct {
	mu   sync.Mutex
	nbls []pool.NBL // the NBL of event Seq s at nbls[s&mask] (0 for Dropped)
	runs []logRun   // run number r (from 1) at runs[r&mask]
	mask uint64     // len(nbls)-1 = len(runs)-1: the rings are a power of two long
	seq  uint64     // Seq of the last event written
	nrun uint64     // number of the last run written
	last *logRun    // &runs[nrun&mask]
}

// logRun is what consecutive events of one run share. The rings have as many runs as events
// and every run holds at least one event, so the run of every event still kept is kept too.
type logRun struct {
	first uint64 // Seq of the run's first event
	end   uint64 // Seq after its last event
	time  int64
	attrs runAttrs
}

// runAttrs packs what the events of a run share besides their time: pool handle (bits 48-63),
// kind (40-45), component (38-39), owner (32-37) and argument (0-31), so that one compare tells
// whether an event's fields match the last run's.
type runAttrs uint64

// The fields fit their bits: a kind or owner past 63, or a component past 3, fails to compile.
var _ = [1]struct{}{}[int(numLogKinds>>6)|pool.NumOwners>>7|int(ComponentProtocol>>2)]

func makeAttrs(poolHandle uint16, kind LogKind, comp Component, owner pool.Owner, arg uint32) runAttrs {
	return runAttrs(poolHandle)<<48 | runAttrs(kind)<<40 | runAttrs(comp)<<38 | runAttrs(owner)<<32 | runAttrs(arg)
}

func (a runAttrs) poolHandle() uint16   { return uint16(a >> 48) }
func (a runAttrs) kind() LogKind        { return LogKind(a>>40) & 63 }
func (a runAttrs) component() Component { return Component(a>>38) & 3 }
func (a runAttrs) owner() pool.Owner    { return pool.Owner(a>>32) & 63 }
func (a runAttrs) arg() uint32          { return uint32(a) }

// newEventLog makes a log of size events, rounded up to a power of two.
func newEventLog(size int) eventLog {
	if size <= 0 {
		size = DefaultLogSize
	}
	n := 1
	for n < size {
		n <<= 1
	}
	runs := make([]logRun, n)
	runs[0] = logRun{first: 1, end: 1} // run 0: empty until the first event extends it
	return eventLog{nbls: make([]pool.NBL, n), runs: runs, mask: uint64(n - 1), last: &runs[0]}
}

// put appends the event "h: kind by comp at time t, owner after it, arg", overwriting the oldest
// event when the ring is full. It extends the last run when the event shares its fields and
// follows it directly, which is the common case on the datapath, so that case is kept small
// enough to inline. The caller holds l.mu.
func (l *eventLog) put(t int64, h pool.NBL, attrs runAttrs) {
	l.seq++
	l.nbls[l.seq&l.mask] = h
	r := l.last // it ends at the event before, as every event joins the last run or starts one
	if r.time != t || r.attrs != attrs {
		r = l.newRun(l.seq, t, attrs)
	}
	r.end = l.seq + 1
}

// putAll is put for each NBL of nbls with the same time and fields, in order: the events of a
// chain changing hands.
func (l *eventLog) putAll(t int64, nbls []pool.NBL, attrs runAttrs) {
	if len(nbls) == 0 {
		return
	}
	seq, mask, ring := l.seq, l.mask, l.nbls
	for _, h := range nbls {
		seq++
		ring[seq&mask] = h
	}
	l.seq = seq
	if r := l.last; r.time == t && r.attrs == attrs {
		r.end = seq + 1
		return
	}
	l.newRun(seq-uint64(len(nbls))+1, t, attrs).end = seq + 1
}

// newRun starts a run at event first.
func (l *eventLog) newRun(first uint64, t int64, attrs runAttrs) *logRun {
	l.nrun++
	r := &l.runs[l.nrun&l.mask]
	*r = logRun{first: first, time: t, attrs: attrs}
	l.last = r
	return r
}

// tail returns the last n events (all kept events when n <= 0), oldest first.
func (l *eventLog) tail(n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := min(l.seq, l.mask+1)
	if n <= 0 || uint64(n) > kept {
		n = int(kept)
	}
	out := make([]LogEntry, 0, n)
	if n == 0 {
		return out
	}
	from := l.seq - uint64(n) + 1
	r := l.nrun // find the run holding event from: runs are in Seq order
	for l.runs[r&l.mask].first > from {
		r--
	}
	run := &l.runs[r&l.mask]
	for s := from; s <= l.seq; s++ {
		if s >= run.end {
			r++
			run = &l.runs[r&l.mask]
		}
		at := run.attrs
		out = append(out, LogEntry{Seq: s, Time: run.time, NBL: l.nbls[s&l.mask], Pool: at.poolHandle(),
			Kind: at.kind(), Component: at.component(), Owner: at.owner(), Arg: at.arg()})
	}
	return out
}

// history returns every kept entry about h, oldest first.
func (l *eventLog) history(h pool.NBL) []LogEntry {
	var out []LogEntry
	for _, e := range l.tail(0) {
		if e.NBL == h {
			out = append(out, e)
		}
	}
	return out
}
