// Package sim is a set of virtual USB Ethernet adapters behind usbnic.Transport, modelled at the
// level a driver sees: descriptors, vendor and class control requests, registers and the PHY,
// the bulk framing in both directions and the interrupt status. Each model is written from
// specs/usbnic.md and the Linux device-side sources, independently of the host minidrivers, so
// a test of a minidriver against its model checks two readings of the spec against each other.
//
// A Device owns one model instance and a Wire (what is plugged into its Ethernet port). It
// enforces the rules a WebUSB host stack enforces (open, configuration, claims, alternate
// settings, halted endpoints) and carries fault injection: stalls, babble, short and oversize
// transfers, corrupt framing, transfer errors, delays and surprise removal.
package sim

import (
	"time"

	"webminiport/usbnic"
)

// Model is one kind of virtual adapter, for New and for the page's model picker.
type Model struct {
	Name        string // short name: "AX88179", "CDC-NCM", ...
	VendorID    uint16
	ProductID   uint16
	Description string
	build       func(p *port, s *settings) *deviceSpec
}

// The models. AX88179 is the original chip (bcdDevice 1.00, one vendor configuration);
// AX88179A reports the same VID:PID with bcdDevice 2.00 and three configurations (vendor,
// CDC-NCM, CDC-ECM). The AX88772 family differs in its chip code and reset needs; AX88772B keeps
// its MAC in EEPROM words 4..6. CDC-ECM and CDC-NCM behave like Linux's f_ecm and f_ncm gadget
// functions and carry the descriptors captured from them (data/usb/README.md).
var (
	AX88179 = &Model{Name: "AX88179", VendorID: 0x0b95, ProductID: 0x1790,
		Description: "ASIX AX88179 USB 3.0 Gigabit Ethernet", build: buildAX88179}
	AX88179A = &Model{Name: "AX88179A", VendorID: 0x0b95, ProductID: 0x1790,
		Description: "ASIX AX88179A (vendor, CDC-NCM and CDC-ECM configurations)", build: buildAX88179A}
	AX88772 = &Model{Name: "AX88772", VendorID: 0x0b95, ProductID: 0x7720,
		Description: "ASIX AX88772 USB 2.0 Fast Ethernet", build: buildAX88772(chip772)}
	AX88772A = &Model{Name: "AX88772A", VendorID: 0x0b95, ProductID: 0x772a,
		Description: "ASIX AX88772A USB 2.0 Fast Ethernet", build: buildAX88772(chip772A)}
	AX88772B = &Model{Name: "AX88772B", VendorID: 0x0b95, ProductID: 0x772b,
		Description: "ASIX AX88772B USB 2.0 Fast Ethernet", build: buildAX88772(chip772B)}
	CDCECM = &Model{Name: "CDC-ECM", VendorID: 0x1d6b, ProductID: 0x0104,
		Description: "Linux f_ecm gadget (CDC Ethernet Control Model)", build: buildECM}
	CDCNCM = &Model{Name: "CDC-NCM", VendorID: 0x1d6b, ProductID: 0x0104,
		Description: "Linux f_ncm gadget (CDC Network Control Model)", build: buildNCM}
)

// Models lists every model in the order the page offers them.
var Models = []*Model{AX88179, AX88179A, AX88772, AX88772A, AX88772B, CDCECM, CDCNCM}

// ModelByName returns the model with the given Name.
func ModelByName(name string) (*Model, bool) {
	for _, m := range Models {
		if m.Name == name {
			return m, true
		}
	}
	return nil, false
}

// settings are what the options set.
type settings struct {
	speed        usbnic.Speed
	mac          [6]byte
	macSet       bool
	linkDelay    time.Duration
	partnerMbps  int
	cable        bool
	config       uint8
	configSet    bool
	kernelDriver bool
	seed         uint64
}

func defaultSettings() settings {
	return settings{
		speed:       usbnic.SpeedHigh,
		linkDelay:   20 * time.Millisecond,
		partnerMbps: 1000,
		cable:       true,
	}
}

// Option configures a Device at New.
type Option func(*settings)

// WithSpeed sets the bus speed (SpeedFull, SpeedHigh or SpeedSuper; default high). A USB 2.0
// model asked for SuperSpeed runs at high speed, as it would on a USB 3 port.
func WithSpeed(s usbnic.Speed) Option { return func(o *settings) { o.speed = s } }

// WithMAC sets the adapter's permanent MAC address (the ASIX NODE_ID/EEPROM, or the host MAC a
// CDC gadget announces in iMACAddress).
func WithMAC(mac [6]byte) Option { return func(o *settings) { o.mac, o.macSet = mac, true } }

// WithLinkDelay sets how long the ASIX PHYs take to autonegotiate after power-up, reset, restart
// or cable plug-in (default 20 ms; real PHYs take about 2 s).
func WithLinkDelay(d time.Duration) Option { return func(o *settings) { o.linkDelay = d } }

// WithPartner sets the fastest speed the link partner offers, in Mb/s: 10, 100 or 1000
// (default 1000). The link comes up at the best speed both ends advertise, full duplex.
func WithPartner(mbps int) Option { return func(o *settings) { o.partnerMbps = mbps } }

// WithCable sets whether a cable is plugged in at start (default true).
func WithCable(plugged bool) Option { return func(o *settings) { o.cable = plugged } }

// WithConfiguration sets the configuration the host OS selected before the page got the device
// (0 = unconfigured). The default is what Linux picks: the AX88179A starts in its CDC-NCM
// configuration 2, everything else in configuration 1.
func WithConfiguration(value uint8) Option {
	return func(o *settings) { o.config, o.configSet = value, true }
}

// WithKernelDriver makes ClaimInterface fail as Chrome does on Linux while a kernel driver
// (ax88179_178a, asix, cdc_ether, cdc_ncm) holds the interface.
func WithKernelDriver() Option { return func(o *settings) { o.kernelDriver = true } }

// WithFaultSeed seeds the random choices fault injection makes (which framing byte a corrupt
// fault flips, what an oversize fault appends). The default seed is 1.
func WithFaultSeed(seed uint64) Option { return func(o *settings) { o.seed = seed } }

// port is what every function of one device shares: the wire, the statistics, the bus speed,
// the cable and the permanent MAC address, and the frame buffers the data paths stage in.
type port struct {
	wire    Wire
	checked checkedWire  // wire, when it implements checkedWire; nil otherwise
	floods  floodRunWire // wire, when it implements floodRunWire; nil otherwise
	st      *Stats
	speed   usbnic.Speed
	cable   bool
	mac     [6]byte
	partner int
	delay   time.Duration
	stage   []byte // one receive frame, read from the wire
	// stageGood says the wire vouched for the checksums of the frame in stage.
	stageGood bool
	scratch   []byte // one transmit frame, when a model rewrites it (checksum offload)
}

// bulkMPS returns the bulk wMaxPacketSize at the current speed.
func (p *port) bulkMPS() int {
	return int(epSpec{typ: usbnic.EndpointBulk}.maxPacket(p.speed))
}

// pull reads the next frame from the wire into p.stage and returns its length (0: none).
func (p *port) pull() int {
	if p.checked != nil {
		n, good := p.checked.ToHostChecked(p.stage[:MaxFrameSize])
		p.stageGood = good && n > 0
		return n
	}
	p.stageGood = false
	return p.wire.ToHost(p.stage[:MaxFrameSize])
}

// drainLimit bounds one drain: a wire that floods without end is not emptied, only what a
// chip's receive FIFO would have seen go by.
const drainLimit = 4096

// drain drops what waits on the wire (up to drainLimit frames), counting it: what arrived while
// the receiver or the link was down is lost, not delivered late. Models call it when their
// receiver comes on; while it is off they leave the wire alone, so a flood costs nothing.
func (p *port) drain() {
	for i := 0; i < drainLimit && p.pull() > 0; i++ {
		p.st.RxDropped++
	}
}

// function is the device-side logic behind one configuration: a chip's firmware or a gadget
// function. The Device calls it with its lock held and after checking the host-stack rules, so
// a function sees only transfers on endpoints that exist in the selected alternate settings.
type function interface {
	// powerOn puts the function in its power-on state (New, Reset).
	powerOn(now time.Time)
	// configured runs when the host selects this configuration (SET_CONFIGURATION): every
	// interface is back in alternate setting 0.
	configured(now time.Time)
	// setAlt runs on SET_INTERFACE and reports whether the function accepts it.
	setAlt(iface, alt uint8, now time.Time) bool
	// controlIn answers a class or vendor request with an IN data stage; false stalls.
	controlIn(s usbnic.Setup, buf []byte, now time.Time) (int, bool)
	// controlOut takes a class or vendor request with an OUT (or no) data stage; false stalls.
	controlOut(s usbnic.Setup, data []byte, now time.Time) bool
	// in fills one IN transfer on ep, or says when to ask again.
	in(ep uint8, buf []byte, now time.Time, r *inResult)
	// out takes one OUT transfer on ep.
	out(ep uint8, data []byte, now time.Time)
	// cableChanged runs when the cable is plugged in or pulled out.
	cableChanged(now time.Time)
}

// maxSpans bounds how many framing fields an IN transfer records for corrupt-framing faults.
const maxSpans = 64

// span is a byte range of an IN transfer that is framing (a header, a length, a trailer).
type span struct{ off, n int }

// inResult is what a function's in returns.
type inResult struct {
	// ready: the transfer completes now with n bytes and status.
	ready  bool
	n      int
	status usbnic.Status
	// When not ready: ask again at wakeAt (zero: only on an event), or as soon as the wire has
	// frames when wantWire is set.
	wakeAt   time.Time
	wantWire bool
	spans    [maxSpans]span
	nspans   int
}

func (r *inResult) complete(n int, st usbnic.Status) {
	r.ready, r.n, r.status = true, n, st
}

// framing records b[off:off+n] as framing, for corrupt faults.
func (r *inResult) framing(off, n int) {
	if r.nspans < maxSpans && n > 0 {
		r.spans[r.nspans] = span{off, n}
		r.nspans++
	}
}

// deliver copies a transfer the device built into buf. When the host's buffer is smaller, the
// device overran it: the host gets what fits and a babble status (the rest is lost).
func (r *inResult) deliver(buf, data []byte) {
	if len(data) > len(buf) {
		copy(buf, data)
		r.complete(len(buf), usbnic.StatusBabble)
		return
	}
	r.complete(copy(buf, data), usbnic.StatusOK)
}
