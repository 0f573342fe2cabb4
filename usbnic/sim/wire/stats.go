package wire

import "net/netip"

// Kind classifies the frames the wire counts.
type Kind uint8

// Frame kinds. Multicast DNS counts as DNS; SSDP and other datagrams as UDP.
const (
	KindARP Kind = iota
	KindICMP
	KindDHCP
	KindDNS
	KindTCP
	KindUDP
	KindFlood
	KindReplay
	KindOther
	NumKinds // the number of kinds, for arrays indexed by Kind
)

var kindNames = [NumKinds]string{"arp", "icmp", "dhcp", "dns", "tcp", "udp", "flood", "replay", "other"}

// String returns the kind's lower-case name, as the UI shows it.
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "kind?"
}

// Profile is the traffic the peers generate on their own, besides their replies.
type Profile uint8

// Traffic profiles.
const (
	ProfileQuiet  Profile = iota // replies only
	ProfileIdle                  // ARP, mDNS and SSDP chatter and a ping, one frame per IdleInterval
	ProfileWeb                   // DNS answers, TCP connections with data of mixed sizes, some UDP
	ProfileFlood                 // fixed-size UDP frames with sequence numbers
	ProfileReplay                // the frames of a capture, in order
)

var profileNames = [...]string{"quiet", "idle", "web", "flood", "replay"}

// String returns the profile's lower-case name, as the UI shows it.
func (p Profile) String() string {
	if int(p) < len(profileNames) {
		return profileNames[p]
	}
	return "profile?"
}

// Count is a number of frames and their bytes (Ethernet header included, FCS excluded).
type Count struct {
	Frames, Bytes uint64
}

func (c *Count) add(n int) {
	c.Frames++
	c.Bytes += uint64(n)
}

// addRun counts frames frames of size bytes each.
func (c *Count) addRun(frames, size int) {
	c.Frames += uint64(frames)
	c.Bytes += uint64(frames * size)
}

// stats are the wire's counters; Snapshot copies them out.
type stats struct {
	fromHost, toHost             Count
	fromHostByKind, toHostByKind [NumKinds]Count
	malformed                    uint64
	ignored                      uint64
	replyDrops                   uint64
	missed                       uint64
	tooBig                       uint64
	pingReplies                  uint64
}

// Snapshot is the wire's state for display: the traffic profile, what it knows about the host,
// and its counters.
type Snapshot struct {
	Profile   Profile
	Rate      int    // frames per second of a paced web mix or flood; 0 when pulled as fast as asked
	FloodSize int    // frame length of the flood
	FloodSeq  uint64 // sequence number the next flood frame carries
	ReplayPos int    // frames of the capture already handed to the host
	ReplayLen int    // frames in the capture being replayed

	HostMAC       MAC
	HostMACLearnt bool // HostMAC came from the host's frames rather than the configuration
	HostIP        netip.Addr
	HostIPLearnt  bool       // HostIP came from the host's frames or its DHCP lease
	LeasedIP      netip.Addr // the host's bound DHCP lease; invalid when it holds none

	FromHost, ToHost             Count
	FromHostByKind, ToHostByKind [NumKinds]Count

	Malformed   uint64 // host frames that failed a length, version or checksum check
	Ignored     uint64 // well-formed host frames no peer answered
	ReplyDrops  uint64 // replies dropped because the reply queue was full
	Missed      uint64 // paced frames that fell MaxLag behind before the host pulled them
	TooBig      uint64 // frames dropped because ToHost's buffer was too short for them
	PingReplies uint64 // echo replies the host sent to the gateway's idle pings
}

// Snapshot returns the wire's state and counters.
func (w *Wire) Snapshot() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.skipLate(w.clock.Now())
	}
	s := Snapshot{
		Profile:   w.profile,
		Rate:      w.rate,
		FloodSize: w.flood.size,
		FloodSeq:  w.flood.seq,
		ReplayPos: w.replay.pos,
		ReplayLen: len(w.replay.frames),

		HostMAC:       w.hostMAC,
		HostMACLearnt: w.hostMACLearnt,
		HostIP:        w.hostIP.addr(),
		HostIPLearnt:  w.hostIPLearnt,

		FromHost:       w.stats.fromHost,
		ToHost:         w.stats.toHost,
		FromHostByKind: w.stats.fromHostByKind,
		ToHostByKind:   w.stats.toHostByKind,
		Malformed:      w.stats.malformed,
		Ignored:        w.stats.ignored,
		ReplyDrops:     w.stats.replyDrops,
		Missed:         w.stats.missed,
		TooBig:         w.stats.tooBig,
		PingReplies:    w.stats.pingReplies,
	}
	if i := w.leaseOf(w.hostMAC); i >= 0 && w.leases[i].state == leaseBound {
		s.LeasedIP = w.leaseAddr(i).addr()
	}
	return s
}
