package ax88179

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

// resetHead is the start of ax88179_reset (§1.6 steps 1-3): PHY power cycle and clock select.
var resetHead = []ctrl{
	wMAC(0x26, 0x00, 0x00),
	wMAC(0x26, 0x20, 0x00),
	wMAC(0x33, 0x03),
}

// resetMiddle is §1.6 steps 6-11 for a chip whose NODE_ID step is done.
var resetMiddle = []ctrl{
	wMAC(0x2e, 0x07, 0x4f, 0x00, 0x12, 0xff),
	wMAC(0x55, 0x34),
	wMAC(0x54, 0x52),
	wMAC(0x34, 0x67),
	wMAC(0x35, 0x67),
	wMAC(0x0b, 0xaa, 0x03),
	wMAC(0x24, 0x64),
	wMAC(0x22, 0x33, 0x01),
}

func seq(parts ...[]ctrl) []ctrl {
	var all []ctrl
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestBindUA2WithAutoDetachOldLEDModeAndEEEOnSuperSpeed(t *testing.T) {
	f := newFake(usbnic.SpeedUnknown)
	f.eeprom(0x43, 0x0100)                                  // auto-detach enabled
	f.mac(0x33, []byte{0x03})                               // CLK_SELECT read back
	f.mac(0x26, []byte{0x20, 0x00})                         // PHYPWR_RSTCTL read back
	f.mac(0x10, []byte{0x00, 0x0e, 0xc6, 0x01, 0x02, 0x03}) // NODE_ID
	f.mac(0x24, []byte{0x00})                               // MONITOR_MOD readable: WoL
	f.mac(0x03, []byte{0x04})                               // GENERAL_STATUS: UA2
	f.mac(0x0a, []byte{0x00})                               // SROM never busy
	f.mac(0x08, []byte{0xff, 0xff})                         // EEPROM word 0 blank
	f.eeprom(0x3c, 0xfe00)                                  // old LED mode 0xFE
	f.phy(0x1a, 0xffff)
	f.phy(0x1c, 0xffff)
	f.phy(0x0e, 0x0006) // every EEE MMD register: 100TX and 1000T
	f.phy(0x00, 0x1140) // BMCR: autonegotiation on
	f.mac(0x02, []byte{0x04})

	var slept []time.Duration
	m := testDriver(f, &slept)
	d := newDevice(t, f, vendorConfig(1024))
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}

	checkLog(t, f.log, seq(resetHead,
		[]ctrl{
			// auto-detach: EEPROM word 0x43 bit 8, then CLK_SELECT |= ULR, PHYPWR |= AT
			rEEPROM(0x43, 0x0100),
			rMAC(0x33, 0x03), wMAC(0x33, 0x0b),
			rMAC(0x26, 0x20, 0x00), wMAC(0x26, 0x20, 0x10),
			rMAC(0x10, 0x00, 0x0e, 0xc6, 0x01, 0x02, 0x03),
			wMAC(0x10, 0x00, 0x0e, 0xc6, 0x01, 0x02, 0x03),
		},
		resetMiddle,
		[]ctrl{
			rMAC(0x24, 0x00),
			// LED setting: UA2, EEPROM check fails on a blank first byte, no eFuse, old mode 0xFE
			rMAC(0x03, 0x04),
			wMAC(0x07, 0x00), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x08, 0xff, 0xff),
			rStall(0x05, 0, 64, 64),
			rEEPROM(0x3c, 0xfe00),
			wPHY(0x1f, 0x0007), wPHY(0x1e, 0x002c),
			rPHY(0x1a, 0xffff), rPHY(0x1c, 0xffff),
			wPHY(0x1a, 0xff9f), // 0xffff&0xff8f | LED0 active
			wPHY(0x1c, 0xfac8), // 0xffff&0xf888 | LED1 1000 | LED2 100
			wPHY(0x1f, 0x0000),
			wMAC(0x73, 0x00),
			// EEE off: page 3 register 0x19, then ethtool get_eee's three MMD reads, then an
			// empty advertisement
			wPHY(0x1f, 0x0003), wPHY(0x19, 0x3246), wPHY(0x1f, 0x0000),
			wPHY(0x0d, 0x0003), wPHY(0x0e, 0x0014), wPHY(0x0d, 0x4003), rPHY(0x0e, 0x0006),
			wPHY(0x0d, 0x0007), wPHY(0x0e, 0x003c), wPHY(0x0d, 0x4007), rPHY(0x0e, 0x0006),
			wPHY(0x0d, 0x0007), wPHY(0x0e, 0x003d), wPHY(0x0d, 0x4007), rPHY(0x0e, 0x0006),
			wPHY(0x0d, 0x0007), wPHY(0x0e, 0x003c), wPHY(0x0d, 0x4007), wPHY(0x0e, 0x0000),
			// restart autonegotiation
			rPHY(0x00, 0x1140), wPHY(0x00, 0x1340),
			// bus speed, since the transport does not know it
			rMAC(0x02, 0x04),
		}))

	if want := []time.Duration{500 * time.Millisecond, 200 * time.Millisecond}; !reflect.DeepEqual(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	if want := []string{"claim 0", "altsetting 0.0"}; !reflect.DeepEqual(f.events, want) {
		t.Errorf("interface calls %v, want %v", f.events, want)
	}
	wantMAC := [6]byte{0x00, 0x0e, 0xc6, 0x01, 0x02, 0x03}
	if d.MAC != wantMAC || d.PermanentMAC != wantMAC {
		t.Errorf("MAC %x permanent %x, want %x", d.MAC, d.PermanentMAC, wantMAC)
	}
	if d.In.Address != 0x81 || d.Out.Address != 0x02 || !d.HasIntr || d.Intr.Address != 0x83 {
		t.Errorf("endpoints in %#x out %#x intr %#x (%v)", d.In.Address, d.Out.Address, d.Intr.Address, d.HasIntr)
	}
	if d.Speed != usbnic.SpeedSuper || d.RxBufferSize != 20480 || d.HardMTU != 1514 || d.TxMaxTransfer != 1523 {
		t.Errorf("speed %v rx buffer %d hard MTU %d tx max %d", d.Speed, d.RxBufferSize, d.HardMTU, d.TxMaxTransfer)
	}
	if !m.wol || d.Link.Up {
		t.Errorf("wol %v link %+v", m.wol, d.Link)
	}
}

func TestBindUA1WithEEPROMLEDWordAndInvalidMAC(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.eeprom(0x43, 0xffff)       // blank: no auto-detach
	f.mac(0x10, make([]byte, 6)) // all-zero NODE_ID
	f.mac(0x03, []byte{0x00})    // UA1
	// SROM busy once on the first word, then idle.
	f.mac(0x0a, []byte{0x10}, []byte{0x00})
	// EEPROM words 0..5, read through the SROM data registers: bytes 6..9 sum to 0xA0, so
	// byte 10 must be 0x5F.
	f.mac(0x08, []byte{0x15, 0x18}, []byte{0x00, 0x00}, []byte{0x00, 0x00},
		[]byte{0x10, 0x20}, []byte{0x30, 0x40}, []byte{0x5f, 0x00})
	f.mac(0x09, []byte{0x84}) // LED word 0x8491, high byte
	f.mac(0x08, []byte{0x91}) // low byte
	f.phy(0x1a, 0x0000)
	f.phy(0x1c, 0x0000)
	f.phy(0x00, 0x0000) // autonegotiation off: no restart

	var slept []time.Duration
	m := testDriver(f, &slept)
	d := newDevice(t, f, vendorConfig(512))
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log, seq(resetHead,
		[]ctrl{
			rEEPROM(0x43, 0xffff),
			rMAC(0x10, 0, 0, 0, 0, 0, 0),
			{RequestType: 0x40, Request: 0x01, Value: 0x10, Index: 6, Length: 6, anyData: true},
		},
		resetMiddle,
		[]ctrl{
			rStall(0x01, 0x24, 1, 1), // MONITOR_MOD refused: no WoL
			rMAC(0x03, 0x00),
			wMAC(0x25, 0xe0), // UA1: GPIO1..3 enable
			wMAC(0x07, 0x00), wMAC(0x0a, 0x04), rMAC(0x0a, 0x10), rMAC(0x0a, 0x00), rMAC(0x08, 0x15, 0x18),
			wMAC(0x07, 0x01), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x08, 0x00, 0x00),
			wMAC(0x07, 0x02), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x08, 0x00, 0x00),
			wMAC(0x07, 0x03), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x08, 0x10, 0x20),
			wMAC(0x07, 0x04), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x08, 0x30, 0x40),
			wMAC(0x07, 0x05), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x08, 0x5f, 0x00),
			// LED word at EEPROM word 0x42
			wMAC(0x07, 0x42), wMAC(0x0a, 0x04), rMAC(0x0a, 0x00), rMAC(0x09, 0x84), rMAC(0x08, 0x91),
			wPHY(0x1f, 0x0007), wPHY(0x1e, 0x002c),
			rPHY(0x1a, 0x0000), rPHY(0x1c, 0x0000),
			wPHY(0x1a, 0x0050), // LED0 and LED2 active
			wPHY(0x1c, 0x0020), // LED1 100
			wPHY(0x1f, 0x0000),
			wMAC(0x73, 0x01), // LED0 full duplex
			wPHY(0x1f, 0x0003), wPHY(0x19, 0x3246), wPHY(0x1f, 0x0000),
			// the first EEE read is refused: Linux skips the other two
			wPHY(0x0d, 0x0003), wPHY(0x0e, 0x0014), wPHY(0x0d, 0x4003), rStall(0x02, 3, 0x0e, 2),
			wPHY(0x0d, 0x0007), wPHY(0x0e, 0x003c), wPHY(0x0d, 0x4007), wPHY(0x0e, 0x0000),
			rPHY(0x00, 0x0000),
		}))
	written := f.log[len(resetHead)+2].Data
	if string(written) != string(d.MAC[:]) {
		t.Errorf("NODE_ID written % x, d.MAC % x", written, d.MAC)
	}
	if d.MAC[0]&0x03 != 0x02 || !validMAC(d.MAC) {
		t.Errorf("random MAC %x is not a locally administered unicast address", d.MAC)
	}
	if d.Speed != usbnic.SpeedUnknown {
		t.Errorf("speed %v: the transport knew it, Bind must not set it", d.Speed)
	}
	if m.wol {
		t.Error("wol reported although MONITOR_MOD was refused")
	}
}

func TestBindFailsClearlyWithoutVendorInterface(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	cfg := vendorConfig(512)
	cfg.Interfaces[0].Alternates[0].Class = 0x02
	err := New().Bind(context.Background(), newDevice(t, f, cfg))
	if err == nil || !strings.Contains(err.Error(), "no vendor interface") {
		t.Fatalf("err = %v", err)
	}
	if len(f.log) != 0 || len(f.events) != 0 {
		t.Errorf("touched the device: %v %v", f.log, f.events)
	}
}

func TestBindPicksFirstAltsettingWithBothBulkEndpointsAndSkipsZeroSizedOnes(t *testing.T) {
	ifc := usbnic.Interface{Number: 2, Alternates: []usbnic.AltSetting{
		{Alternate: 0, Class: 0xff, Subclass: 0xff, Endpoints: []usbnic.Endpoint{
			{Address: 0x81, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
		}},
		{Alternate: 1, Class: 0xff, Subclass: 0xff, Endpoints: []usbnic.Endpoint{
			{Address: 0x83, Attributes: usbnic.EndpointInterrupt, MaxPacketSize: 8},
			{Address: 0x84, Attributes: usbnic.EndpointBulk, MaxPacketSize: 0},
			{Address: 0x85, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
			{Address: 0x86, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
			{Address: 0x03, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
			{Address: 0x04, Attributes: usbnic.EndpointBulk, MaxPacketSize: 512},
		}},
	}}
	alt, in, out, intr, hasIntr, ok := pickEndpoints(ifc)
	if !ok || alt != 1 || in.Address != 0x85 || out.Address != 0x03 || !hasIntr || intr.Address != 0x83 {
		t.Fatalf("alt %d in %#x out %#x intr %#x/%v ok %v", alt, in.Address, out.Address, intr.Address, hasIntr, ok)
	}
}

func TestBindReleasesInterfaceWhenResetFails(t *testing.T) {
	f := &failingDevice{fakeDevice: newFake(usbnic.SpeedHigh), failAfter: 2}
	var slept []time.Duration
	m := testDriver(f.fakeDevice, &slept)
	err := m.Bind(context.Background(), newDevice(t, f, vendorConfig(512)))
	if !errors.Is(err, usbnic.ErrDisconnected) {
		t.Fatalf("err = %v, want ErrDisconnected", err)
	}
	if !strings.Contains(err.Error(), "write MAC register 0x33") {
		t.Errorf("error does not say which request failed: %v", err)
	}
	if want := []string{"claim 0", "altsetting 0.0", "release 0"}; !reflect.DeepEqual(f.events, want) {
		t.Errorf("interface calls %v, want %v", f.events, want)
	}
}

// failingDevice is a fake whose control requests fail with ErrDisconnected after failAfter
// requests.
type failingDevice struct {
	*fakeDevice
	failAfter int
}

func (f *failingDevice) ControlOut(ctx context.Context, s usbnic.Setup, data []byte) (usbnic.Status, error) {
	if len(f.log) >= f.failAfter {
		return usbnic.StatusOK, usbnic.ErrDisconnected
	}
	return f.fakeDevice.ControlOut(ctx, s, data)
}

func TestResetWithLivePHYOnlyEnablesReceiver(t *testing.T) {
	for _, tc := range []struct {
		name   string
		medium uint16
		want   []ctrl
	}{
		{"receiver already on", 0x0133, []ctrl{rPHY(0x11, 0x2c00), rMAC(0x22, 0x33, 0x01)}},
		{"receiver off", 0x0033, []ctrl{rPHY(0x11, 0x2c00), rMAC(0x22, 0x33, 0x00), wMAC(0x22, 0x33, 0x01)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(usbnic.SpeedSuper)
			f.phy(0x11, 0x2c00)
			f.mac(0x22, []byte{byte(tc.medium), byte(tc.medium >> 8)})
			if err := New().Reset(context.Background(), newDevice(t, f, nil)); err != nil {
				t.Fatal(err)
			}
			checkLog(t, f.log, tc.want)
		})
	}
}

func TestResetWithSilentPHYRunsFullReset(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	f.phy(0x11, 0x0000)
	f.mac(0x10, []byte{0x00, 0x0e, 0xc6, 0x01, 0x02, 0x03})
	f.phy(0x1a, 0x0000)
	f.phy(0x1c, 0x0000)
	f.phy(0x00, 0x0000)
	var slept []time.Duration
	if err := testDriver(f, &slept).Reset(context.Background(), newDevice(t, f, nil)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log[:4], seq([]ctrl{rPHY(0x11, 0x0000)}, resetHead))
	if len(slept) != 2 {
		t.Errorf("slept %v", slept)
	}
}

func TestStopClearsReceiveEnable(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	f.mac(0x22, []byte{0x3b, 0x01})
	if err := New().Stop(context.Background(), newDevice(t, f, nil)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log, []ctrl{rMAC(0x22, 0x3b, 0x01), wMAC(0x22, 0x3b, 0x00)})
}

func TestUnbindStopsPowersDownAndReleases(t *testing.T) {
	f := newFake(usbnic.SpeedSuper)
	m := New()
	m.iface, m.claimed = 0, true
	m.Unbind(context.Background(), newDevice(t, f, nil))
	checkLog(t, f.log, []ctrl{wMAC(0x0b, 0x00, 0x00), wMAC(0x33, 0x00), wMAC(0x26, 0x00, 0x00)})
	if want := []string{"release 0"}; !reflect.DeepEqual(f.events, want) {
		t.Errorf("interface calls %v, want %v", f.events, want)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	start := time.Now()
	if err := New().sleep(context.Background(), 5*time.Millisecond); err != nil || time.Since(start) < 5*time.Millisecond {
		t.Fatalf("real sleep returned %v after %v", err, time.Since(start))
	}
}

func TestIDsAreTheSpecTableOnTheVendorInterface(t *testing.T) {
	want := [][2]uint16{
		{0x0b95, 0x1790}, {0x0b95, 0x178a}, {0x04b4, 0x3610}, {0x2001, 0x4a00}, {0x0df6, 0x0072},
		{0x04e8, 0xa100}, {0x17ef, 0x304b}, {0x050d, 0x0128}, {0x0930, 0x0a13}, {0x0711, 0x0179},
		{0x07c9, 0x000e}, {0x07c9, 0x000f}, {0x07c9, 0x0010},
	}
	if len(IDs) != len(want) {
		t.Fatalf("%d ids, spec table has %d", len(IDs), len(want))
	}
	for i, id := range IDs {
		if [2]uint16{id.VendorID, id.ProductID} != want[i] || !id.MatchInterface ||
			id.Class != 0xff || id.Subclass != 0xff || id.Protocol != 0x00 || id.Driver != Driver || id.Product == "" {
			t.Errorf("row %d: %+v", i, id)
		}
	}
	if Driver.Name != "ax88179_178a" || Driver.New() == nil {
		t.Errorf("driver %+v", Driver)
	}
}
