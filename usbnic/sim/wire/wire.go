// Package wire is the virtual Ethernet segment plugged into a simulated adapter's port: a
// gateway that is also the DHCP server, a web server and a DNS server. The peers answer the
// host's ARP, ICMP echo, DHCP and DNS, and generate traffic of their own: idle chatter, a
// web-like mix, floods of fixed-size frames, or the replay of a capture.
//
// The adapter's side drives the wire: FromHost hands it each frame the adapter transmits,
// ToHost pulls the next frame the peers have for the host, and Ready says when pulling is
// worth it. Replies wait in a ring preallocated at New; generated traffic is built on demand
// straight into ToHost's buffer from prebuilt templates, so neither direction allocates per
// frame. Paced traffic is woken by one timer of the injected Clock, not by a goroutine.
package wire

import (
	"fmt"
	"sync"
	"time"
)

// Wire is the peer network. Its methods are safe for concurrent use: FromHost, ToHost and the
// profile switches may each come from a different goroutine.
type Wire struct {
	cfg   Config // defaults filled in
	clock Clock
	ready chan struct{}

	mu     sync.Mutex
	closed bool
	timer  Timer // wakes the host when paced traffic falls due; created on first need

	gw, web, dns station
	names        map[string]ip4 // A records by lower-case name without the final dot
	webName      []byte         // the web server's name in DNS wire form, for the web mix
	ssdpNotify   []byte         // the gateway's SSDP announcement, built once
	leaseFirst   uint32
	leases       []lease // leases[i] is the address leaseFirst+i

	hostMAC       MAC
	hostMACLearnt bool
	hostIP        ip4
	hostIPLearnt  bool

	replies replyRing
	ipID    uint16    // IPv4 identification, shared by the peers
	nameBuf [256]byte // a query's name, decoded; 255 bytes is the longest DNS name

	profile Profile
	rate    int
	pace    pacer
	scratch [MaxFrameLen]byte // generated frames go here when ToHost's buffer is short
	idle    idleChatter
	mix     webMix
	flood   flood
	replay  replay

	stats stats
}

// station is a peer's addresses in header form.
type station struct {
	mac MAC
	ip  ip4
}

// New returns a wire with the peer network cfg describes, quiet until a profile is chosen.
func New(cfg Config) (*Wire, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	w := &Wire{
		cfg:        cfg,
		clock:      cfg.Clock,
		ready:      make(chan struct{}, 1),
		gw:         station{cfg.Gateway.MAC, addr4(cfg.Gateway.IP)},
		web:        station{cfg.WebServer.MAC, addr4(cfg.WebServer.IP)},
		dns:        station{cfg.DNSServer.MAC, addr4(cfg.DNSServer.IP)},
		leaseFirst: addr4(cfg.LeaseFirst).uint32(),
		leases:     make([]lease, cfg.LeaseCount),
		hostMAC:    cfg.HostMAC,
		hostIP:     addr4(cfg.HostIP),
		replies:    newReplyRing(cfg.ReplyQueue),
		pace:       pacer{unpaced: true}, // quiet
	}
	var webName string
	w.names, webName = normalNames(cfg.Names, cfg.WebServer.IP)
	if webName != "" {
		w.webName = encodeName(webName)
	}
	w.ssdpNotify = []byte(fmt.Sprintf("NOTIFY * HTTP/1.1\r\n"+
		"HOST: 239.255.255.250:1900\r\n"+
		"CACHE-CONTROL: max-age=1800\r\n"+
		"LOCATION: http://%v/rootDesc.xml\r\n"+
		"NT: upnp:rootdevice\r\n"+
		"NTS: ssdp:alive\r\n"+
		"SERVER: webminiport-wire/1 UPnP/1.1\r\n"+
		"USN: uuid:77777777-0000-0000-0000-%012x::upnp:rootdevice\r\n\r\n",
		cfg.Gateway.IP, cfg.Gateway.MAC[:]))
	return w, nil
}

// Ready returns a channel that receives a value when ToHost may have frames: when a reply is
// queued, when a profile starts, and when paced traffic falls due. After a value, call ToHost
// until it returns 0. A consumer that stops earlier (an unpaced profile never runs dry) must
// call ToHost again before it waits: frames already waiting are not signalled again.
func (w *Wire) Ready() <-chan struct{} { return w.ready }

// signal wakes the host without blocking; a value already pending says the same thing.
func (w *Wire) signal() {
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// Close stops the pacing timer. Afterwards FromHost ignores frames, ToHost returns 0 and the
// profile switches do nothing. Close may be called more than once.
func (w *Wire) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// armTimer makes Ready receive a value d from now. The caller holds w.mu.
func (w *Wire) armTimer(d time.Duration) {
	if w.timer == nil {
		w.timer = w.clock.AfterFunc(d, w.signal)
		return
	}
	w.timer.Reset(d)
}

// ToHost copies the next frame waiting for the host into buf and returns its length, or 0 when
// none is waiting now. Replies come before generated traffic. A frame longer than buf is
// dropped and counted in TooBig (a reply is then followed by the next one; a generated frame
// ends the call, since an unpaced profile never runs dry). A buf of MaxFrameLen bytes holds
// every frame but replayed jumbo frames.
func (w *Wire) ToHost(buf []byte) int {
	n, _ := w.ToHostChecked(buf)
	return n
}

// ToHostChecked is ToHost that also reports whether the wire vouches for the frame's IPv4
// header and UDP checksums: it does for flood frames, whose checksums it computes from the
// template's (floodFrame), so a model with receive checksum offload may take them as correct
// instead of summing every byte of a line-rate flood again. Every other frame (replies, the
// web mix, a replayed capture) is for the model to check.
func (w *Wire) ToHostChecked(buf []byte) (n int, checksumsGood bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, false
	}
	for {
		b, kind, ok := w.replies.pop()
		if !ok {
			break
		}
		if len(b) > len(buf) {
			w.stats.tooBig++
			continue
		}
		n := copy(buf, b)
		w.countToHost(kind, n)
		return n, false
	}
	n, kind := w.generate(buf)
	if n > 0 {
		w.countToHost(kind, n)
	}
	return n, kind == KindFlood
}

// FloodSize returns the size of the flood frames next in line for the host, or 0 when the next
// frame is not a flood frame (no flood, or a reply waits): what a run of ToHostFlood would give.
func (w *Wire) FloodSize() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.replies.n > 0 || w.profile != ProfileFlood {
		return 0
	}
	return w.flood.size
}

// ToHostFlood hands the host a run of flood frames at once: up to max of them, frame i at
// dst[i*stride:], each exactly the frame ToHost would have given next (its own sequence number
// and checksum, counted the same way), under one lock instead of one call a frame. A device
// that gathers many frames into one transfer (the AX88179's aggregates) fills it so at line
// rate. It returns how many it wrote and their size, and writes none when the next frame is not
// a flood frame (a reply waits, there is no flood), when stride is smaller than the flood's
// frames or dst cannot hold max of them, or when no frame of a paced flood is due yet. The wire
// vouches for their checksums, as ToHostChecked does.
func (w *Wire) ToHostFlood(dst []byte, stride, max int) (n, size int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	size = w.flood.size
	if w.closed || w.replies.n > 0 || w.profile != ProfileFlood || max <= 0 || stride < size ||
		len(dst) < (max-1)*stride+size {
		return 0, 0
	}
	if !w.pace.unpaced {
		now := w.clock.Now()
		w.skipLate(now)
		if max = w.pace.takeUpTo(now, max); max == 0 {
			w.armTimer(w.pace.wait(now))
			return 0, 0
		}
	}
	for i := range max {
		w.floodFrame(dst[i*stride:])
	}
	w.stats.toHost.addRun(max, size)
	w.stats.toHostByKind[KindFlood].addRun(max, size)
	return max, size
}

func (w *Wire) countToHost(k Kind, n int) {
	w.stats.toHost.add(n)
	w.stats.toHostByKind[k].add(n)
}

// generate builds the profile's next frame into buf if one is due, arming the timer for the
// next one otherwise. A frame that does not fit buf is counted and 0 returned: trying the next
// would loop for ever on an unpaced profile. The caller holds w.mu.
func (w *Wire) generate(buf []byte) (int, Kind) {
	switch w.profile {
	case ProfileQuiet:
		return 0, 0
	case ProfileReplay:
		return w.replayFrame(buf)
	}
	if !w.pace.unpaced {
		now := w.clock.Now()
		w.skipLate(now)
		if !w.pace.take(now) {
			w.armTimer(w.pace.wait(now))
			return 0, 0
		}
	}
	if w.profile == ProfileFlood {
		if len(buf) < w.flood.size {
			w.stats.tooBig++
			return 0, 0
		}
		return w.floodFrame(buf), KindFlood
	}
	dst, short := buf, len(buf) < MaxFrameLen
	if short {
		dst = w.scratch[:]
	}
	var n int
	var kind Kind
	if w.profile == ProfileIdle {
		n, kind = w.idleFrame(dst)
	} else {
		n, kind = w.webFrame(dst)
	}
	if short {
		if n > len(buf) {
			w.stats.tooBig++
			return 0, 0
		}
		copy(buf, dst[:n])
	}
	return n, kind
}

// skipLate counts the paced frames the host has let fall MaxLag or more behind as missed.
// ToHost and Snapshot call it, so the count is current whether or not the host pulls. The
// caller holds w.mu.
func (w *Wire) skipLate(now time.Time) {
	if w.pace.unpaced {
		return
	}
	missed := w.pace.skipLate(now, w.cfg.MaxLag)
	w.stats.missed += missed
	if w.profile == ProfileFlood {
		w.flood.seq += missed // the host sees the gap, as it would a loss on a real wire
	}
}

// startProfile switches to p; paced profiles start their clock now. The caller holds w.mu and
// signals Ready after releasing it, since the first frame is due at once.
func (w *Wire) startProfile(p Profile, rate int, pace pacer) {
	w.profile = p
	w.rate = rate
	w.pace = pace
	w.replay = replay{} // let a finished capture go
}

// Quiet stops generated traffic; the peers still answer the host.
func (w *Wire) Quiet() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.startProfile(ProfileQuiet, 0, pacer{unpaced: true})
	}
}

// Idle starts idle chatter: one frame every IdleInterval, cycling through a gratuitous ARP from
// the gateway, an mDNS announcement from the web server, the gateway asking who has the
// host's address, an SSDP NOTIFY from the gateway and a ping from the gateway to the host.
func (w *Wire) Idle() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.startProfile(ProfileIdle, 0, pacedEvery(w.clock.Now(), w.cfg.IdleInterval))
	w.idle = idleChatter{}
	w.mu.Unlock()
	w.signal()
}

// Web starts the web-like mix at rate frames per second, or as fast as the host pulls for rate
// 0: connections from the host to the web server seen from the server's side (a DNS answer
// for the server's name, SYN-ACK, data segments of 64 to 1514 bytes, FIN), with UDP datagrams
// in between. Every switch restarts the same pseudo-random sequence from Config.Seed.
func (w *Wire) Web(rate int) error {
	if rate < 0 {
		return fmt.Errorf("wire: web mix rate %d is negative", rate)
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.startProfile(ProfileWeb, rate, pacedAt(w.clock.Now(), rate))
	w.mix = webMix{rng: w.cfg.Seed}
	w.mu.Unlock()
	w.signal()
	return nil
}
