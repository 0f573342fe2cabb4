package sim

import "sync"

// MaxFrameSize is the largest Ethernet frame (without FCS) a Wire hands to a device: a 9000-byte
// jumbo payload, the 14-byte header and a VLAN tag, rounded up to a 512-byte multiple. Every
// buffer a device passes to ToHost has room for this many bytes. Models drop frames longer than
// their registers allow (1514 for CDC, 1518 or the jumbo limit for the ASIX chips).
const MaxFrameSize = 9216

// Wire is what is plugged into the virtual adapter's Ethernet port.
//
// A device calls these methods with its own lock held, one call at a time, so a Wire must not
// call back into the device. A Wire makes a frame visible to ToHost before it signals Ready, and
// signals with a non-blocking send so a pending value is never lost: a device that found
// nothing checks Ready after releasing its lock, and must see every frame that arrived since.
type Wire interface {
	// FromHost takes a frame the adapter transmitted. The slice is only valid during the call.
	FromHost(frame []byte)
	// ToHost copies the next frame waiting for the host into buf and returns its length, or 0 when none is waiting now.
	// buf has room for MaxFrameSize bytes.
	ToHost(buf []byte) int
	// Ready returns a channel that receives a value when ToHost may have frames (buffered, capacity 1).
	Ready() <-chan struct{}
}

// checkedWire is a Wire that can also say which of its frames carry checksums it computed
// itself (wire.Wire does for its floods): a model with receive checksum offload then takes
// them as correct instead of verifying every byte of a line-rate flood, which was the largest
// device-side cost of the page benchmark. ToHostChecked is ToHost that also reports whether the
// frame's IPv4 header and TCP/UDP checksums are known to be right.
type checkedWire interface {
	ToHostChecked(buf []byte) (n int, checksumsGood bool)
}

// floodRunWire is a Wire that can hand over a run of flood frames at once (wire.Wire does): a model
// that gathers many frames into one transfer takes them with one call instead of one a frame,
// which at line rate with small frames was most of the device side's cost in the page
// benchmark. FloodSize returns the size of the flood frames next in line, 0 when the next frame
// is not one; ToHostFlood writes up to max of them, frame i at dst[i*stride:], and returns how
// many and their size, vouching for their checksums as ToHostChecked does.
type floodRunWire interface {
	FloodSize() int
	ToHostFlood(dst []byte, stride, max int) (n, size int)
}

// Queue is a bounded FIFO Wire for tests: Push queues frames for the host, Sent pops the frames
// the host transmitted. A loopback Queue (NewLoopback) hands every transmitted frame straight
// back to the host instead. It is not a network: nothing answers.
type Queue struct {
	mu       sync.Mutex
	toHost   frameRing
	fromHost frameRing
	loopback bool
	ready    chan struct{}

	// Dropped counts frames refused because a direction was full.
	Dropped uint64
}

// NewQueue returns a Queue that holds up to frames frames in each direction.
func NewQueue(frames int) *Queue {
	return &Queue{
		toHost:   newFrameRing(frames),
		fromHost: newFrameRing(frames),
		ready:    make(chan struct{}, 1),
	}
}

// NewLoopback returns a Queue whose FromHost queues the frame for the host, as a loopback plug
// would: the host receives what it sends (subject to the device's receive filter).
func NewLoopback(frames int) *Queue {
	q := NewQueue(frames)
	q.loopback = true
	return q
}

// Push queues a frame for the host and reports whether there was room. It copies the frame.
// An empty frame is refused: ToHost could not tell it from "nothing waiting".
func (q *Queue) Push(frame []byte) bool {
	if len(frame) == 0 {
		return false
	}
	q.mu.Lock()
	ok := q.toHost.push(frame)
	if !ok {
		q.Dropped++
	}
	q.mu.Unlock()
	if ok {
		q.signal()
	}
	return ok
}

// Sent copies the oldest frame the host transmitted into buf and returns its length, or 0 when
// there is none. A frame longer than buf is truncated to len(buf).
func (q *Queue) Sent(buf []byte) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fromHost.pop(buf)
}

// Waiting returns how many frames wait for the host.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.toHost.n
}

// FromHost implements Wire.
func (q *Queue) FromHost(frame []byte) {
	q.mu.Lock()
	var ok bool
	if q.loopback {
		ok = q.toHost.push(frame)
	} else {
		ok = q.fromHost.push(frame)
	}
	if !ok {
		q.Dropped++
	}
	q.mu.Unlock()
	if ok && q.loopback {
		q.signal()
	}
}

// ToHost implements Wire.
func (q *Queue) ToHost(buf []byte) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.toHost.pop(buf)
}

// Ready implements Wire.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// frameRing is a FIFO of frames in fixed slots. Each slot keeps the largest buffer it has ever
// held, so once every slot has seen a frame of a given size, push and pop allocate nothing.
type frameRing struct {
	slots   [][]byte
	head, n int
}

func newFrameRing(frames int) frameRing {
	if frames < 1 {
		frames = 1
	}
	return frameRing{slots: make([][]byte, frames)}
}

func (r *frameRing) push(frame []byte) bool {
	if r.n == len(r.slots) {
		return false
	}
	i := (r.head + r.n) % len(r.slots)
	r.slots[i] = append(r.slots[i][:0], frame...)
	r.n++
	return true
}

func (r *frameRing) pop(buf []byte) int {
	if r.n == 0 {
		return 0
	}
	n := copy(buf, r.slots[r.head])
	r.head = (r.head + 1) % len(r.slots)
	r.n--
	return n
}

// nullWire is the wire of a device built without one: an unplugged port.
type nullWire struct{}

func (nullWire) FromHost([]byte)        {}
func (nullWire) ToHost([]byte) int      { return 0 }
func (nullWire) Ready() <-chan struct{} { return nil }
