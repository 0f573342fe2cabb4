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

// DefaultLogSize is the tracking-log capacity when Config.LogSize is 0: enough for the whole life
// of a few hundred NBLs, and 4096 × 32 bytes of memory.
const DefaultLogSize = 4096

// eventLog is the bounded ring of LogEntry. The ring is allocated once, so logging never allocates.
//
// mu is also the adapter's bookkeeping lock for the free lists and counters of RxEngine and
// SendPool, so that a frame's free-list change, owner change and log entry take one lock.
type eventLog struct {
	mu   sync.Mutex
	ring []LogEntry // a power of two long, so a position is a mask away
	seq  uint64     // Seq of the last entry written
}

// newEventLog makes a log of size entries, rounded up to a power of two.
func newEventLog(size int) eventLog {
	if size <= 0 {
		size = DefaultLogSize
	}
	n := 1
	for n < size {
		n <<= 1
	}
	return eventLog{ring: make([]LogEntry, n)}
}

// put appends e, overwriting the oldest entry when the ring is full. The caller holds l.mu.
func (l *eventLog) put(e LogEntry) {
	l.seq++
	e.Seq = l.seq
	l.ring[l.seq&uint64(len(l.ring)-1)] = e
}

// tail returns the last n entries (all kept entries when n <= 0), oldest first.
func (l *eventLog) tail(n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := min(l.seq, uint64(len(l.ring)))
	if n <= 0 || uint64(n) > kept {
		n = int(kept)
	}
	out := make([]LogEntry, 0, n)
	for s := l.seq - uint64(n) + 1; s <= l.seq; s++ {
		out = append(out, l.ring[s&uint64(len(l.ring)-1)])
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
