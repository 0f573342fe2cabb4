// Package cdcncm is the CDC Network Control Model minidriver, after Linux cdc_ncm: a control
// interface (02/0D/00) with the CDC and NCM functional descriptors and an interrupt IN endpoint,
// and a CDC Data interface whose alternate setting 1 carries NCM Transfer Blocks (NTBs), each
// holding several Ethernet frames behind a header (NTH) and datagram pointer tables (NDPs).
//
// Bind negotiates the NTB sizes and alignment as cdc_ncm_bind_common does; RxFixup applies every
// bounds check of cdc_ncm_rx_fixup; TxAppend/TxFinish batch frames into NTBs laid out the way
// cdc_ncm_fill_tx_frame lays them out. All buffers are the core's: nothing is allocated per
// frame.
package cdcncm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// Driver is the CDC-NCM entry of the match table. It uses NTB16, as Linux does even when the
// device also offers NTB32.
var Driver = &usbnic.Driver{Name: "cdc_ncm", New: func() usbnic.Minidriver { return &ncm{} }}

// DriverNTB32 asks for NTB32 where the device offers it (Linux CDC_NCM_FLAG_PREFER_NTB32),
// and falls back to NTB16 when it does not or refuses SET_NTB_FORMAT.
var DriverNTB32 = &usbnic.Driver{Name: "cdc_ncm", New: func() usbnic.Minidriver { return &ncm{preferNTB32: true} }}

// TxTimer is how long cdc_ncm lets an NTB that is not full wait for more frames
// (CDC_NCM_TIMER_INTERVAL_USEC). TxAppend answers flush=false until the NTB is full; the core
// sends a pending NTB when no frame came for this long. (Linux re-arms the timer up to twice
// while fewer than 3 frames are queued.)
const TxTimer = 400 * time.Microsecond

// Sizes and limits of cdc_ncm (include/linux/usb/cdc_ncm.h and the NCM specification).
const (
	ethHeaderLen             = 14
	dataAltNCM               = 1     // CDC_NCM_DATA_ALTSETTING_NCM: the data interface's alternate setting with endpoints
	ntbParamsLen             = 28    // GET_NTB_PARAMETERS answer
	ntbMinSize               = 2048  // USB_CDC_NCM_NTB_MIN_IN_SIZE and _MIN_OUT_SIZE
	ntbMaxSize               = 65536 // CDC_NCM_NTB_MAX_SIZE_RX and _TX (32768 before 2022)
	ntbDefaultSize           = 16384 // CDC_NCM_NTB_DEF_SIZE_RX and _TX: "be conservative"
	maxDatagramsNDP          = 40    // CDC_NCM_DPT_DATAGRAMS_MAX: datagrams per NTB on TX
	minDatagramSize          = 1514  // CDC_NCM_MIN_DATAGRAM_SIZE
	maxDatagramSize          = 8192  // CDC_NCM_MAX_DATAGRAM_SIZE
	ndpAlignMin              = 4     // USB_CDC_NCM_NDP_ALIGN_MIN_SIZE
	minTxPkt                 = 512   // CDC_NCM_MIN_TX_PKT: never pad short NTBs below this
	maxNDPChain              = 50    // cdc_ncm_rx_fixup's loop guard: NDPs followed after the first
	firmwarePause            = 10 * time.Millisecond
	formatNTB16              = 0
	formatNTB32              = 1
	crcNotAppended           = 0
	ntbFormatsNTB32          = 0x02       // bmNtbFormatsSupported bit 1
	capEthFilter             = 0x01       // bmNetworkCapabilities: SET_ETHERNET_PACKET_FILTER
	capMaxDatagram           = 0x08       // GET/SET_MAX_DATAGRAM_SIZE
	capCRCMode               = 0x10       // GET/SET_CRC_MODE
	sigNTH16                 = 0x484D434E // "NCMH"
	sigNTH32                 = 0x686D636E // "ncmh"
	sigNDP16                 = 0x304D434E // "NCM0": no CRC
	sigNDP32                 = 0x306D636E // "ncm0"
	nth16Len, nth32Len       = 12, 16
	ndp16HdrLen, ndp32HdrLen = 8, 16
	dpe16Len, dpe32Len       = 4, 8
)

// format is the geometry of NTB16 or NTB32.
type format struct {
	name      string // "NTB16" or "NTB32"
	ndp       string // "NDP16" or "NDP32"
	wide      bool   // 32-bit lengths and offsets
	nthLen    int
	ndpHdrLen int
	dpeLen    int
	ndpMinLen int // USB_CDC_NCM_NDP16_LENGTH_MIN / NDP32: header plus two entries
	nthSig    uint32
	ndpSig    uint32
	nthTag    string // the signatures as text
	ndpTag    string
}

var (
	ntb16 = format{name: "NTB16", ndp: "NDP16", nthLen: nth16Len, ndpHdrLen: ndp16HdrLen, dpeLen: dpe16Len, ndpMinLen: 0x10, nthSig: sigNTH16, ndpSig: sigNDP16, nthTag: "NCMH", ndpTag: "NCM0"}
	ntb32 = format{name: "NTB32", ndp: "NDP32", wide: true, nthLen: nth32Len, ndpHdrLen: ndp32HdrLen, dpeLen: dpe32Len, ndpMinLen: 0x20, nthSig: sigNTH32, ndpSig: sigNDP32, nthTag: "ncmh", ndpTag: "ncm0"}
)

var le = binary.LittleEndian

// field reads a 16-bit field, or a 32-bit one in the wide format.
func (f *format) field(b []byte) uint64 {
	if f.wide {
		return uint64(le.Uint32(b))
	}
	return uint64(le.Uint16(b))
}

func (f *format) putField(b []byte, v int) {
	if f.wide {
		le.PutUint32(b, uint32(v))
	} else {
		le.PutUint16(b, uint16(v))
	}
}

// nthBlockLenOff is where wBlockLength (NTH16) or dwBlockLength (NTH32) sits.
const nthBlockLenOff = 8

// Field offsets that differ between the formats.
func (f *format) ndpIndexOff() int {
	if f.wide {
		return 12
	}
	return 10
}
func (f *format) nextNDPOff() int {
	if f.wide {
		return 8
	}
	return 6
}

// ntbParams is the GET_NTB_PARAMETERS answer.
type ntbParams struct {
	formats                                uint16
	inMaxSize                              uint32
	inDivisor, inRemainder, inAlignment    uint16
	outMaxSize                             uint32
	outDivisor, outRemainder, outAlignment uint16
	outMaxDatagrams                        uint16
}

func parseNTBParams(b []byte) ntbParams {
	return ntbParams{
		formats:         le.Uint16(b[2:]),
		inMaxSize:       le.Uint32(b[4:]),
		inDivisor:       le.Uint16(b[8:]),
		inRemainder:     le.Uint16(b[10:]),
		inAlignment:     le.Uint16(b[12:]),
		outMaxSize:      le.Uint32(b[16:]),
		outDivisor:      le.Uint16(b[20:]),
		outRemainder:    le.Uint16(b[22:]),
		outAlignment:    le.Uint16(b[24:]),
		outMaxDatagrams: le.Uint16(b[26:]),
	}
}

// ncm is one bound CDC-NCM device. The negotiated values are set by Bind and read-only after;
// the tx* state belongs to the TX path, speedSplit to Status.
type ncm struct {
	preferNTB32   bool
	control, data uint8
	caps          uint8 // bmNetworkCapabilities
	params        ntbParams
	f             *format

	rxMax          int // negotiated NTB input size (ctx->rx_max)
	txMax          int // NTB output size (ctx->tx_max)
	txMaxDatagrams int
	ndpSize        int // bytes reserved for the NDP of every TX NTB (ctx->max_ndp_size)
	ndpAlign       int // wNdpOutAlignment, sanitised
	txModulus      int // wNdpOutDivisor, sanitised
	txRemainder    int // wNdpOutPayloadRemainder, sanitised and adjusted for the Ethernet header
	minTxPkt       int // NTBs longer than this are padded to txMax
	maxDatagram    int
	maxPacket      int // bulk OUT wMaxPacketSize

	txSeq   uint16 // wSequence of the next NTB
	txNDP   int    // offset of the NDP in the NTB being built
	txCount int    // datagrams in it; 0 when no NTB is open

	speedSplit bool // CONNECTION_SPEED_CHANGE came without its rates; the next transfer has them
}

func (m *ncm) classSetup(req uint8, value uint16) usbnic.Setup {
	return usbnic.Setup{Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: req, Value: value, Index: uint16(m.control)}
}

// Bind is cdc_ncm_bind_common with cdc_ncm_init and cdc_ncm_setup, in Linux's order:
// descriptors, claim, data interface reset by toggling its alternate setting, NTB parameters,
// CRC mode and NTB format while the data interface is in alternate 0, alternate 1, endpoints,
// MAC, then the sizes (SET_NTB_INPUT_SIZE when ours differs from the device's maximum), the
// alignment, and the maximum datagram size.
func (m *ncm) Bind(ctx context.Context, d *usbnic.Device) error {
	if d.Config == nil {
		return errors.New("cdc_ncm: no active configuration")
	}
	ctrl := d.Config.FindInterface(usbnic.ClassComm, usbnic.SubclassCDCNCM, usbnic.ProtocolCDCNone)
	if ctrl == nil {
		return fmt.Errorf("cdc_ncm: configuration %d has no CDC-NCM control interface (02/0d/00)", d.Config.Value)
	}
	cdc := ctrl.Default().CDC
	m.control = ctrl.Number
	switch iad := d.Config.IADFor(ctrl.Number); {
	case cdc.Union != nil:
		m.data = cdc.Union.Slaves[0]
	case iad != nil && iad.InterfaceCount == 2 && d.Config.Interface(ctrl.Number+1) != nil:
		m.data = ctrl.Number + 1 // "some buggy devices have an IAD but no CDC Union"
	default:
		return fmt.Errorf("cdc_ncm: interface %d: CDC Union missing and no IAD found", ctrl.Number)
	}
	if cdc.Ethernet == nil {
		return fmt.Errorf("cdc_ncm: interface %d has no CDC Ethernet Networking descriptor", ctrl.Number)
	}
	if cdc.NCM == nil {
		return fmt.Errorf("cdc_ncm: interface %d has no NCM functional descriptor", ctrl.Number)
	}
	m.caps = cdc.NCM.NetworkCapabilities

	if err := d.T.ClaimInterface(ctx, m.control); err != nil {
		return fmt.Errorf("cdc_ncm: claiming control interface %d: %w", m.control, err)
	}
	if m.data != m.control {
		if err := d.T.ClaimInterface(ctx, m.data); err != nil {
			m.release(ctx, d)
			return fmt.Errorf("cdc_ncm: claiming data interface %d: %w", m.data, err)
		}
	}
	if err := m.bind(ctx, d, cdc.Ethernet); err != nil {
		m.release(ctx, d)
		return err
	}
	return nil
}

// bind is the part of Bind that runs with the interfaces claimed.
func (m *ncm) bind(ctx context.Context, d *usbnic.Device, eth *usbnic.CDCEthernet) error {
	// "Some devices will not reset properly unless they are configured first. Toggle the
	// altsetting to force a reset." The first switch may fail; the second may not.
	if err := d.T.SelectAlternate(ctx, m.data, dataAltNCM); err != nil {
		d.Logf("cdc_ncm: SET_INTERFACE %d/%d: %v", m.data, dataAltNCM, err)
	}
	if err := d.T.SelectAlternate(ctx, m.data, 0); err != nil {
		return fmt.Errorf("cdc_ncm: SET_INTERFACE interface %d alternate 0: %w", m.data, err)
	}
	if err := m.init(ctx, d); err != nil {
		return err
	}
	// "Some firmwares need a pause here or they will silently fail to set up the interface
	// properly" (Sierra Wireless MC7455).
	select {
	case <-time.After(firmwarePause):
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := d.T.SelectAlternate(ctx, m.data, dataAltNCM); err != nil {
		return fmt.Errorf("cdc_ncm: SET_INTERFACE interface %d alternate %d: %w", m.data, dataAltNCM, err)
	}
	if err := m.findEndpoints(d); err != nil {
		return err
	}
	if err := d.GetEthernetAddr(ctx, eth.IMACAddress); err != nil {
		return fmt.Errorf("cdc_ncm: MAC address: %w", err)
	}
	m.setup(ctx, d, eth)
	return nil
}

// init is cdc_ncm_init: GET_NTB_PARAMETERS (required), CRC off, the NTB format, and the TX
// datagram limit. The data interface is in alternate 0 here, as SET_NTB_FORMAT requires.
func (m *ncm) init(ctx context.Context, d *usbnic.Device) error {
	var buf [ntbParamsLen]byte
	n, err := d.ReadCmd(ctx, m.classSetup(usbnic.NCMGetNTBParameters, 0), buf[:])
	if err != nil {
		return fmt.Errorf("cdc_ncm: %w", err)
	}
	if n < ntbParamsLen {
		return fmt.Errorf("cdc_ncm: GET_NTB_PARAMETERS answered %d bytes, want %d", n, ntbParamsLen)
	}
	m.params = parseNTBParams(buf[:])

	if m.caps&capCRCMode != 0 {
		if err := d.WriteCmd(ctx, m.classSetup(usbnic.NCMSetCRCMode, crcNotAppended), nil); err != nil {
			d.Logf("cdc_ncm: SET_CRC_MODE failed: %v", err)
		}
	}
	m.f = &ntb16
	if m.params.formats&ntbFormatsNTB32 != 0 {
		want := uint16(formatNTB16)
		if m.preferNTB32 {
			want = formatNTB32
		}
		if err := d.WriteCmd(ctx, m.classSetup(usbnic.NCMSetNTBFormat, want), nil); err != nil {
			d.Logf("cdc_ncm: SET_NTB_FORMAT failed, using NTB16: %v", err)
		} else if want == formatNTB32 {
			m.f = &ntb32
		}
	}
	m.txMaxDatagrams = int(m.params.outMaxDatagrams)
	if m.txMaxDatagrams == 0 || m.txMaxDatagrams > maxDatagramsNDP {
		m.txMaxDatagrams = maxDatagramsNDP
	}
	m.ndpSize = m.f.ndpHdrLen + (m.txMaxDatagrams+1)*m.f.dpeLen
	return nil
}

// findEndpoints is cdc_ncm_find_endpoints on the data interface (now in alternate 1), then on
// the control interface: bulk IN, bulk OUT and interrupt IN are all required.
func (m *ncm) findEndpoints(d *usbnic.Device) error {
	var in, out, status *usbnic.Endpoint
	scan := func(alt *usbnic.AltSetting) {
		if alt == nil {
			return
		}
		for i := range alt.Endpoints {
			e := &alt.Endpoints[i]
			if e.MaxPacketSize == 0 {
				continue // cannot transfer data
			}
			switch {
			case e.Type() == usbnic.EndpointInterrupt && e.In() && status == nil:
				status = e
			case e.Type() == usbnic.EndpointBulk && e.In() && in == nil:
				in = e
			case e.Type() == usbnic.EndpointBulk && !e.In() && out == nil:
				out = e
			}
		}
	}
	scan(d.Config.Interface(m.data).Alt(dataAltNCM))
	scan(d.Config.Interface(m.control).Default())
	if in == nil || out == nil || status == nil {
		return fmt.Errorf("cdc_ncm: endpoints missing (bulk IN %v, bulk OUT %v, interrupt IN %v)", in != nil, out != nil, status != nil)
	}
	d.In, d.Out, d.Intr, d.HasIntr = *in, *out, *status, true
	m.maxPacket = int(out.MaxPacketSize)
	return nil
}

// setup is cdc_ncm_setup: choose the RX and TX NTB sizes, tell the device the RX size when it
// differs from its maximum, sanitise the TX alignment, and agree on the maximum datagram size.
func (m *ncm) setup(ctx context.Context, d *usbnic.Device, eth *usbnic.CDCEthernet) {
	m.maxDatagram = min(max(int(eth.MaxSegmentSize), minDatagramSize), maxDatagramSize)

	// RX: min(16384, dwNtbInMaxSize) clamped to [2048, min(65536, dwNtbInMaxSize)].
	inMax := int(m.params.inMaxSize)
	m.rxMax = inMax
	hi := min(ntbMaxSize, inMax)
	if hi < ntbMinSize {
		d.Logf("cdc_ncm: dwNtbInMaxSize=%d is too small, using %d", inMax, ntbMinSize)
		hi = ntbMinSize
	}
	if rx := min(max(min(ntbDefaultSize, inMax), ntbMinSize), hi); rx != inMax {
		var size [4]byte
		le.PutUint32(size[:], uint32(rx))
		if err := d.WriteCmd(ctx, m.classSetup(usbnic.NCMSetNTBInputSize, 0), size[:]); err != nil {
			d.Logf("cdc_ncm: SET_NTB_INPUT_SIZE %d failed, keeping %d: %v", rx, inMax, err)
		} else {
			m.rxMax = rx
		}
	}

	// TX: min(16384, dwNtbOutMaxSize) clamped to [datagram + NDP + NTH, dwNtbOutMaxSize
	// clamped to [2048, 65536]] (65536 when the device gives 0). Linux computes the lower bound
	// before it knows the datagram size (it is still 0 then); the full bound is used here.
	outMax := int(m.params.outMaxSize)
	hi = ntbMaxSize
	if outMax != 0 {
		hi = min(max(outMax, ntbMinSize), ntbMaxSize)
	}
	lo := min(m.maxDatagram+m.ndpSize+m.f.nthLen, hi) // some devices set dwNtbOutMaxSize too low
	m.txMax = min(max(min(ntbDefaultSize, outMax), lo), hi)
	// A size that differs from the device's maximum must not be a multiple of wMaxPacketSize,
	// so that a full NTB ends in a short packet without a ZLP.
	if m.txMax != outMax && m.txMax%m.maxPacket == 0 {
		m.txMax++
	}
	// "never pad more than 3 full USB packets per transfer"
	m.minTxPkt = min(max(m.txMax-3*m.maxPacket, minTxPkt), m.txMax)

	m.fixModulus()
	m.setDatagramSize(ctx, d)

	d.HardMTU = m.maxDatagram
	d.RxBufferSize = m.rxMax
	d.TxMaxTransfer = m.txMax
}

// fixModulus is cdc_ncm_fix_modulus: the NDP alignment and the datagram divisor must be powers
// of two, at least 4 and below the NTB size; the remainder must be below the divisor. The
// remainder then moves back by the Ethernet header so that the payload after it lands where
// the device asked.
func (m *ncm) fixModulus() {
	sane := func(v int) bool { return v >= ndpAlignMin && v&(v-1) == 0 && v < m.txMax }
	m.ndpAlign = int(m.params.outAlignment)
	if !sane(m.ndpAlign) {
		m.ndpAlign = ndpAlignMin
	}
	m.txModulus = int(m.params.outDivisor)
	if !sane(m.txModulus) {
		m.txModulus = ndpAlignMin
	}
	m.txRemainder = int(m.params.outRemainder)
	if m.txRemainder >= m.txModulus {
		m.txRemainder = 0
	}
	m.txRemainder = (m.txRemainder - ethHeaderLen) & (m.txModulus - 1)
}

// setDatagramSize is cdc_ncm_set_dgram_size at bind: when the device can, read its maximum
// datagram size and set ours if it differs. Failures leave the device's value alone.
func (m *ncm) setDatagramSize(ctx context.Context, d *usbnic.Device) {
	if m.caps&capMaxDatagram == 0 {
		return
	}
	var cur [2]byte
	n, err := d.ReadCmd(ctx, m.classSetup(usbnic.NCMGetMaxDatagramSize, 0), cur[:])
	if err != nil || n != len(cur) {
		d.Logf("cdc_ncm: GET_MAX_DATAGRAM_SIZE failed (%d bytes): %v", n, err)
		return
	}
	if int(le.Uint16(cur[:])) == m.maxDatagram {
		return
	}
	le.PutUint16(cur[:], uint16(m.maxDatagram))
	if err := d.WriteCmd(ctx, m.classSetup(usbnic.NCMSetMaxDatagramSize, 0), cur[:]); err != nil {
		d.Logf("cdc_ncm: SET_MAX_DATAGRAM_SIZE failed: %v", err)
	}
}

// release gives back the interfaces Bind claimed; errors do not matter any more.
func (m *ncm) release(ctx context.Context, d *usbnic.Device) {
	if m.data != m.control {
		_ = d.T.ReleaseInterface(ctx, m.data)
	}
	_ = d.T.ReleaseInterface(ctx, m.control)
}

// Unbind releases the data and control interfaces.
func (m *ncm) Unbind(ctx context.Context, d *usbnic.Device) { m.release(ctx, d) }

// Reset has nothing to do: cdc_ncm has no reset hook.
func (m *ncm) Reset(ctx context.Context, d *usbnic.Device) error { return nil }

// Stop has nothing to do: cdc_ncm has no stop hook.
func (m *ncm) Stop(ctx context.Context, d *usbnic.Device) error { return nil }

// LinkReset has nothing to do: the link comes from notifications, without a reset.
func (m *ncm) LinkReset(ctx context.Context, d *usbnic.Device) error { return nil }

// Status parses one notification (cdc_ncm_status). NETWORK_CONNECTION is passed on only when
// it differs from d.Link.Up, the core's carrier state, as Linux compares with
// netif_carrier_ok (RTL8156 chips shipped before 2021 repeat it every 32 ms).
// CONNECTION_SPEED_CHANGE shorter than 16 bytes takes its rates from the next transfer.
func (m *ncm) Status(d *usbnic.Device, data []byte) (usbnic.StatusEvent, error) {
	n, err := usbnic.ParseNotification(data)
	if err != nil {
		return usbnic.StatusEvent{}, fmt.Errorf("cdc_ncm: %w", err)
	}
	if m.speedSplit {
		m.speedSplit = false
		rx, tx := usbnic.SpeedChangeRates(data)
		return usbnic.StatusEvent{HasSpeed: true, RxSpeed: rx, TxSpeed: tx}, nil
	}
	switch n.Code {
	case usbnic.NotifyNetworkConnection:
		if up := n.Value != 0; up != d.Link.Up {
			return usbnic.StatusEvent{HasLink: true, LinkUp: up}, nil
		}
		return usbnic.StatusEvent{}, nil
	case usbnic.NotifySpeedChange:
		if len(data) < usbnic.NotificationHeaderLen+8 {
			m.speedSplit = true
			return usbnic.StatusEvent{}, nil
		}
		rx, tx := usbnic.SpeedChangeRates(data[usbnic.NotificationHeaderLen:])
		return usbnic.StatusEvent{HasSpeed: true, RxSpeed: rx, TxSpeed: tx}, nil
	}
	return usbnic.StatusEvent{}, fmt.Errorf("cdc_ncm: unexpected %s", usbnic.NotificationName(n.Code))
}

// SetRxMode writes SET_ETHERNET_PACKET_FILTER when the device announces packet filtering
// (cdc_ncm_update_filter); otherwise there is nothing to program.
func (m *ncm) SetRxMode(ctx context.Context, d *usbnic.Device, packetFilter uint32, multicast [][6]byte) error {
	if m.caps&capEthFilter == 0 {
		return nil
	}
	filter := usbnic.CDCPacketFilter(packetFilter, len(multicast))
	if err := d.WriteCmd(ctx, m.classSetup(usbnic.CDCSetEthernetPacketFilter, filter), nil); err != nil {
		return fmt.Errorf("cdc_ncm: %w", err)
	}
	return nil
}
