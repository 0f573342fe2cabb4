package ax88772

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"webminiport/usbnic"
)

func seq(parts ...[]ctrl) []ctrl {
	var all []ctrl
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

const ms = time.Millisecond

func TestBindAX88772EmbeddedPHYWithNodeIDMAC(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x13, []byte{0x00, 0x0e, 0xc6, 0xaa, 0xbb, 0xcc}) // NODE_ID
	f.read(0x19, []byte{0xe0, 0x10})                         // PHY ids: Linux uses byte 1, 0x10
	f.read(0x09, []byte{0x00}, []byte{0x01})                 // chip code 0, then HOST_EN
	f.read(0x0f, []byte{0x88, 0x00})
	f.read(0x1a, []byte{0x06, 0x03})
	f.phy(0x10, 0x02, 0x0000, 0x003b) // PHYSID1 not ready at the first poll
	f.phy(0x10, 0x03, 0x1881)

	var slept []time.Duration
	m := testDriver(&slept)
	d := newDevice(t, f, asixConfig())
	d.Desc.VendorID, d.Desc.ProductID = 0x0b95, 0x7720
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	mac := []byte{0x00, 0x0e, 0xc6, 0xaa, 0xbb, 0xcc}
	checkLog(t, f.log, seq(
		[]ctrl{
			r(0x13, 0, 0, mac...),
			r(0x19, 0, 0, 0xe0, 0x10),
			r(0x09, 0, 0, 0x00),
			// AX88772 hardware reset with the embedded PHY (§2.3)
			w(0x1f, 0x00b0, 0),
			w(0x22, 0x0001, 0),
			w(0x20, 0x0040, 0),
			w(0x20, 0x0000, 0),
			w(0x20, 0x0028, 0),
			w(0x10, 0x0088, 0),
			w(0x1b, 0x0306, 0),
			w(0x12, 0x001d, 0x0012),
			w(0x14, 0, 0, mac...),
			w(0x10, 0x0088, 0),
			r(0x0f, 0, 0, 0x88, 0x00),
			r(0x1a, 0, 0, 0x06, 0x03),
		},
		mdioR(0x10, 0x02, 0x0000),
		mdioR(0x10, 0x02, 0x003b),
		mdioR(0x10, 0x03, 0x1881),
	))
	if want := []time.Duration{5 * ms, 10 * ms, 60 * ms, 150 * ms, 1 * ms, 1 * ms, 1 * ms, 1 * ms}; !reflect.DeepEqual(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	if want := []string{"claim 0", "altsetting 0.0"}; !reflect.DeepEqual(f.events, want) {
		t.Errorf("interface calls %v, want %v", f.events, want)
	}
	if d.MAC != [6]byte(mac) || d.PermanentMAC != d.MAC {
		t.Errorf("MAC %x permanent %x", d.MAC, d.PermanentMAC)
	}
	if d.In.Address != 0x82 || d.Out.Address != 0x03 || d.Intr.Address != 0x81 || !d.HasIntr {
		t.Errorf("endpoints in %#x out %#x intr %#x", d.In.Address, d.Out.Address, d.Intr.Address)
	}
	if d.RxBufferSize != 2048 || d.HardMTU != 1514 || d.TxMaxTransfer != 1522 {
		t.Errorf("rx buffer %d hard MTU %d tx max %d", d.RxBufferSize, d.HardMTU, d.TxMaxTransfer)
	}
	if m.phy != 0x10 || m.chip != chip772 {
		t.Errorf("phy %#x chip %#x", m.phy, m.chip)
	}
}

func TestBindAX88772BExternalPHYWithEEPROMMAC(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.answer(0x0b, 4, 0, []byte{0x00, 0x0e})
	f.answer(0x0b, 5, 0, []byte{0xc6, 0xdd})
	f.answer(0x0b, 6, 0, []byte{0xee, 0xff})
	f.read(0x19, []byte{0x10, 0x03})
	f.read(0x09, []byte{0x20}, []byte{0x21}) // chip code 0x20; HOST_EN in the same register
	f.read(0x0f, []byte{0x88, 0x00})
	f.read(0x1a, []byte{0x06, 0x03})
	f.phy(0x03, 0x02, 0x003b)
	f.phy(0x03, 0x03, 0x1881)

	var slept []time.Duration
	m := testDriver(&slept)
	d := newDevice(t, f, asixConfig())
	d.Desc.VendorID, d.Desc.ProductID = 0x0b95, 0x772b
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	mac := []byte{0x00, 0x0e, 0xc6, 0xdd, 0xee, 0xff}
	checkLog(t, f.log, seq(
		[]ctrl{
			r(0x0b, 4, 0, 0x00, 0x0e), r(0x0b, 5, 0, 0xc6, 0xdd), r(0x0b, 6, 0, 0xee, 0xff),
			r(0x19, 0, 0, 0x10, 0x03),
			r(0x09, 0, 0, 0x20),
			// AX88772A/B hardware reset, external PHY: SW_PHY_SELECT is SSEN alone
			w(0x1f, 0x0080, 0),
			w(0x22, 0x0010, 0),
			w(0x20, 0x0060, 0),
			w(0x20, 0x0020, 0),
			w(0x20, 0x0000, 0),
			w(0x20, 0x0020, 0),
			w(0x2a, 0x8000, 0x8001), // 772B bulk-in queue setting
			w(0x12, 0x001d, 0x0012),
			w(0x14, 0, 0, mac...),
			w(0x10, 0x0088, 0),
			w(0x1b, 0x0306, 0),
			w(0x10, 0x0088, 0),
			r(0x0f, 0, 0, 0x88, 0x00),
			r(0x1a, 0, 0, 0x06, 0x03),
		},
		[]ctrl{w(0x06, 0, 0), r(0x09, 0, 0, 0x21), r(0x07, 3, 2, 0x3b, 0x00), w(0x0a, 0, 0)},
		[]ctrl{w(0x06, 0, 0), r(0x09, 0, 0, 0x21), r(0x07, 3, 3, 0x81, 0x18), w(0x0a, 0, 0)},
	))
	if want := []time.Duration{5 * ms, 10 * ms, 10 * ms, 160 * ms, 200 * ms, 1 * ms, 1 * ms}; !reflect.DeepEqual(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	if d.MAC != [6]byte(mac) {
		t.Errorf("MAC %x", d.MAC)
	}
}

func TestBindAX88772ARestoresPHYDefaultsAndReplacesInvalidMAC(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x13, []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}) // multicast: invalid
	f.read(0x19, []byte{0xe0, 0x10})
	f.read(0x09, []byte{0x10}, []byte{0x11})
	f.read(0x0f, []byte{0x88, 0x00})
	f.read(0x1a, []byte{0x06, 0x03})
	f.phy(0x10, 0x14, 0x442c)
	f.phy(0x10, 0x15, 0x0000) // wrong after reset
	f.phy(0x10, 0x16, 0x4044)
	f.phy(0x10, 0x02, 0x003b)
	f.phy(0x10, 0x03, 0x1881)

	var slept []time.Duration
	m := testDriver(&slept)
	d := newDevice(t, f, asixConfig())
	if err := m.Bind(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	mdio := func(c []ctrl) []ctrl {
		c[1] = r(0x09, 0, 0, 0x11)
		return c
	}
	checkLog(t, f.log, seq(
		[]ctrl{
			r(0x13, 0, 0, 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01),
			r(0x19, 0, 0, 0xe0, 0x10),
			r(0x09, 0, 0, 0x10),
			w(0x1f, 0x0080, 0),
			w(0x22, 0x0011, 0), // embedded | SSEN
			w(0x20, 0x0060, 0),
			w(0x20, 0x0020, 0),
			w(0x20, 0x0000, 0),
			w(0x20, 0x0020, 0),
		},
		mdio(mdioR(0x10, 0x14, 0x442c)),
		mdio(mdioR(0x10, 0x15, 0x0000)),
		mdio(mdioR(0x10, 0x16, 0x4044)),
		mdio(mdioW(0x10, 0x15, 0x03c8)),
		[]ctrl{
			w(0x12, 0x001d, 0x0012),
			{RequestType: 0x40, Request: 0x14, Length: 6, anyData: true},
			w(0x10, 0x0088, 0),
			w(0x1b, 0x0306, 0),
			w(0x10, 0x0088, 0),
			r(0x0f, 0, 0, 0x88, 0x00),
			r(0x1a, 0, 0, 0x06, 0x03),
		},
		mdio(mdioR(0x10, 0x02, 0x003b)),
		mdio(mdioR(0x10, 0x03, 0x1881)),
	))
	written := f.log[9+16+1].Data
	if string(written) != string(d.MAC[:]) || d.MAC[0]&0x03 != 0x02 || !validMAC(d.MAC) {
		t.Errorf("NODE_ID written % x, MAC %x: want the same locally administered unicast address", written, d.MAC)
	}
}

func TestBindRefusesImpossiblePHYAddress(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x13, []byte{0x00, 0x0e, 0xc6, 0xaa, 0xbb, 0xcc})
	f.read(0x19, []byte{0xe0, 0x20})
	err := New().Bind(context.Background(), newDevice(t, f, asixConfig()))
	if err == nil || !strings.Contains(err.Error(), "PHY address 32") {
		t.Fatalf("err = %v", err)
	}
	if want := []string{"claim 0", "altsetting 0.0", "release 0"}; !reflect.DeepEqual(f.events, want) {
		t.Errorf("interface calls %v, want %v", f.events, want)
	}
}

func TestBindFailsWhenPHYNeverAnswers(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x13, []byte{0x00, 0x0e, 0xc6, 0xaa, 0xbb, 0xcc})
	f.read(0x19, []byte{0xe0, 0x10})
	f.read(0x09, []byte{0x00}, []byte{0x01})
	f.read(0x0f, []byte{0x88, 0x00})
	f.read(0x1a, []byte{0x06, 0x03})
	f.phy(0x10, 0x02, 0xffff)
	var slept []time.Duration
	err := testDriver(&slept).Bind(context.Background(), newDevice(t, f, asixConfig()))
	if err == nil || !strings.Contains(err.Error(), "PHYSID1 reads 0xffff after 100 polls") {
		t.Fatalf("err = %v", err)
	}
	reads := 0
	for _, c := range f.log {
		if c.Request == 0x07 {
			reads++
		}
	}
	if reads != 100 {
		t.Errorf("%d PHYSID1 reads, want 100", reads)
	}
}

func TestBindFailsWhenMACCannotBeRead(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	d := newDevice(t, f, asixConfig())
	d.Desc.VendorID, d.Desc.ProductID = 0x17ef, 0x7203 // EEPROM MAC row
	err := New().Bind(context.Background(), d)
	var re *RequestError
	if !errors.As(err, &re) || re.Request != 0x0b || re.Status != usbnic.StatusStall {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "READ_EEPROM") {
		t.Errorf("error does not name the request: %v", err)
	}
}

func TestMDIOHandshakeRetriesUntilHostEnable(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x09, []byte{0x00}, []byte{0x00}, []byte{0x01})
	f.phy(0x10, 0x01, 0x782d)
	var slept []time.Duration
	m := testDriver(&slept)
	m.phy = 0x10
	v, err := m.mdioRead(context.Background(), newDevice(t, f, nil), miiBMSR)
	if err != nil || v != 0x782d {
		t.Fatalf("read 0x%04x, %v", v, err)
	}
	checkLog(t, f.log, []ctrl{
		w(0x06, 0, 0), r(0x09, 0, 0, 0x00),
		w(0x06, 0, 0), r(0x09, 0, 0, 0x00),
		w(0x06, 0, 0), r(0x09, 0, 0, 0x01),
		r(0x07, 0x10, 0x01, 0x2d, 0x78),
		w(0x0a, 0, 0),
	})
	if len(slept) != 3 {
		t.Errorf("slept %v, want 1 ms before each STATMNGSTS read", slept)
	}
}

func TestMDIOHandshakeGivesUpAfter30Tries(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x09, []byte{0x00})
	var slept []time.Duration
	m := testDriver(&slept)
	_, err := m.mdioRead(context.Background(), newDevice(t, f, nil), miiBMSR)
	var te *mdioTimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "HOST_EN") {
		t.Fatalf("err = %v", err)
	}
	if len(f.log) != 60 || f.log[59].Request != 0x09 {
		t.Errorf("%d requests, want 30 SET_SW_MII + STATMNGSTS pairs and nothing else", len(f.log))
	}
}

func TestMDIOHandshakeStopsOnTransportFailure(t *testing.T) {
	f := &failingDevice{fakeDevice: newFake(usbnic.SpeedHigh)}
	var slept []time.Duration
	_, err := testDriver(&slept).mdioRead(context.Background(), newDevice(t, f, nil), miiBMSR)
	if !errors.Is(err, usbnic.ErrDisconnected) {
		t.Fatalf("err = %v", err)
	}
}

// failingDevice is a fake whose every OUT request fails with ErrDisconnected.
type failingDevice struct{ *fakeDevice }

func (f *failingDevice) ControlOut(context.Context, usbnic.Setup, []byte) (usbnic.Status, error) {
	return usbnic.StatusOK, usbnic.ErrDisconnected
}

func TestResetRewritesMACAndRestartsAutoneg(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	f.read(0x09, []byte{0x01})
	f.phy(0x10, 0x00, 0x3d00) // autoneg, powered down and isolated
	var slept []time.Duration
	m := testDriver(&slept)
	m.phy = 0x10
	d := newDevice(t, f, nil)
	d.MAC = [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	if err := m.Reset(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log, seq(
		[]ctrl{
			w(0x14, 0, 0, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55),
			w(0x10, 0x0088, 0),
			w(0x1b, 0x0306, 0),
		},
		mdioR(0x10, 0x00, 0x3d00),
		mdioW(0x10, 0x00, 0x3300),
	))
}

func TestStopWritesMediumModeZero(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	m := New()
	m.carrier.Store(true)
	if err := m.Stop(context.Background(), newDevice(t, f, nil)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, f.log, []ctrl{w(0x1b, 0, 0)})
	if m.carrier.Load() {
		t.Error("carrier still on")
	}
}

func TestUnbindReleasesInterfaceOnly(t *testing.T) {
	f := newFake(usbnic.SpeedHigh)
	m := New()
	m.iface, m.claimed = 0, true
	m.Unbind(context.Background(), newDevice(t, f, nil))
	if len(f.log) != 0 || !reflect.DeepEqual(f.events, []string{"release 0"}) {
		t.Errorf("log %v events %v", f.log, f.events)
	}
}

func TestIDsCoverTheSpecTableWithTheirVariants(t *testing.T) {
	eeprom := map[[2]uint16]bool{
		{0x0b95, 0x7720}: false, {0x0b95, 0x772b}: true, {0x0b95, 0x772a}: false, {0x0b95, 0x7e2b}: true,
		{0x17ef, 0x7203}: true, {0x13b1, 0x0018}: false, {0x1557, 0x7720}: false, {0x07d1, 0x3c05}: false,
		{0x2001, 0x3c05}: false, {0x2001, 0x1a02}: false, {0x05ac, 0x1402}: false, {0x0db0, 0xa877}: false,
		{0x066b, 0x20f9}: true, {0x33f7, 0x0004}: true,
	}
	if len(IDs) != len(eeprom) {
		t.Fatalf("%d ids, spec table has %d", len(IDs), len(eeprom))
	}
	for _, id := range IDs {
		want, ok := eeprom[[2]uint16{id.VendorID, id.ProductID}]
		if !ok || id.Driver != Driver || id.MatchInterface || id.Product == "" {
			t.Errorf("row %+v", id)
		}
		if got := lookup(id.VendorID, id.ProductID).eepromMAC; got != want {
			t.Errorf("%04x:%04x MAC from EEPROM %v, want %v", id.VendorID, id.ProductID, got, want)
		}
	}
	if lookup(0x1234, 0x5678).eepromMAC {
		t.Error("unknown device reads its MAC from EEPROM")
	}
}

func TestDriverIsAsix(t *testing.T) {
	if Driver.Name != "asix" {
		t.Errorf("driver name %q", Driver.Name)
	}
	if m, ok := Driver.New().(*Minidriver); !ok || len(m.rx.frame) != maxFrameLen {
		t.Errorf("Driver.New gives %T without its reassembly buffer", Driver.New())
	}
}
