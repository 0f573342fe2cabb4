package wire

// replyRing holds the replies waiting for the host (ARP, ICMP, DHCP, DNS) in fixed slots of
// MaxFrameLen bytes allocated once, so queueing a reply never allocates. A reply is built in
// place: reserve hands out the free slot, commit publishes it.
type replyRing struct {
	buf     []byte // len(lens) slots of MaxFrameLen bytes
	lens    []uint16
	kinds   []Kind
	head, n int
}

func newReplyRing(slots int) replyRing {
	return replyRing{
		buf:   make([]byte, slots*MaxFrameLen),
		lens:  make([]uint16, slots),
		kinds: make([]Kind, slots),
	}
}

func (r *replyRing) slot(i int) []byte { return r.buf[i*MaxFrameLen : (i+1)*MaxFrameLen] }

// reserve returns the next free slot, or nil when every slot holds a waiting reply.
func (r *replyRing) reserve() []byte {
	if r.n == len(r.lens) {
		return nil
	}
	return r.slot((r.head + r.n) % len(r.lens))
}

// commit publishes the slot reserve returned as a frame of n bytes.
func (r *replyRing) commit(n int, k Kind) {
	i := (r.head + r.n) % len(r.lens)
	r.lens[i] = uint16(n)
	r.kinds[i] = k
	r.n++
}

// pop removes the oldest reply. The bytes stay valid until the next reserve.
func (r *replyRing) pop() ([]byte, Kind, bool) {
	if r.n == 0 {
		return nil, 0, false
	}
	i := r.head
	r.head = (r.head + 1) % len(r.lens)
	r.n--
	return r.slot(i)[:r.lens[i]], r.kinds[i], true
}
