package sim

import (
	"bytes"
	"fmt"
	"testing"

	"webminiport/usbnic"
)

// The descriptors captured from Linux's gadgets (data/usb/README.md), copied by hand.
const (
	gadgetDeviceDesc = "12 01 00 02 00 00 00 40 6b 1d 04 01 00 01 01 02 03 01"
	ncmConfigDesc    = `09 02 5e 00 02 01 00 80 32 08 0b 00 02 02 0d 00 07 09 04 00 00 01 02 0d 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 06 24 1a 00 01 11 07 05 85 03 10 00 09 09 04
01 00 00 0a 00 01 06 09 04 01 01 02 0a 00 01 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
	ecmConfigDesc = `09 02 58 00 02 01 00 80 32 08 0b 00 02 02 06 00 07 09 04 00 00 01 02 06 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 07 05 85 03 10 00 09 09 04 01 00 00 0a 00 00
00 09 04 01 01 02 0a 00 00 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
)

func getDescriptor(t *testing.T, d *Device, typ, idx uint8, lang uint16, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	got, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Standard, Recipient: usbnic.ToDevice, Request: 0x06, Value: uint16(typ)<<8 | uint16(idx), Index: lang}, buf)
	if err != nil || st != usbnic.StatusOK {
		t.Fatalf("GET_DESCRIPTOR %d/%d: %v %v", typ, idx, st, err)
	}
	return buf[:got]
}

// The gadget models answer the enumeration requests of the captures with the captured bytes.
func TestGadgetDescriptorsAreTheCapturedBytes(t *testing.T) {
	for _, tc := range []struct {
		m       *Model
		config  string
		strings []string // 1..6 as captured
		lens    []int    // captured IN lengths of strings 1..6 requested with wLength 255
	}{
		{CDCNCM, ncmConfigDesc, []string{"Linux", "CDC NCM gadget", "0123456789", "CDC Network Control Model (NCM)", "020000000002", "CDC Network Data"}, []int{12, 30, 22, 64, 26, 34}},
		{CDCECM, ecmConfigDesc, []string{"Linux", "CDC ECM gadget", "0123456789", "CDC Ethernet Control Model (ECM)", "020000000002", "CDC Ethernet Data"}, []int{12, 30, 22, 66, 26, 36}},
	} {
		t.Run(tc.m.Name, func(t *testing.T) {
			d := plug(t, tc.m, nil)
			if got, want := d.DeviceDescriptor(), hx(t, gadgetDeviceDesc); !bytes.Equal(got, want) {
				t.Errorf("device descriptor\n got % x\nwant % x", got, want)
			}
			cfg, err := d.ConfigDescriptor(bg, 0)
			if err != nil || !bytes.Equal(cfg, hx(t, tc.config)) {
				t.Errorf("configuration descriptor (%v)\n got % x\nwant % x", err, cfg, hx(t, tc.config))
			}
			// Rows 1, 4, 5, 6 of the captured control transfers.
			if got := getDescriptor(t, d, 1, 0, 0, 64); !bytes.Equal(got, hx(t, gadgetDeviceDesc)) {
				t.Errorf("GET_DESCRIPTOR device wLength 64: % x", got)
			}
			if got := getDescriptor(t, d, 2, 0, 0, 9); !bytes.Equal(got, hx(t, tc.config)[:9]) {
				t.Errorf("GET_DESCRIPTOR configuration wLength 9: % x", got)
			}
			if got := getDescriptor(t, d, 3, 0, 0, 255); !bytes.Equal(got, []byte{0x04, 0x03, 0x09, 0x04}) {
				t.Errorf("string 0: % x", got)
			}
			for i, s := range tc.strings {
				got := getDescriptor(t, d, 3, uint8(i+1), 0x0409, 255)
				if len(got) != tc.lens[i] || got[0] != byte(tc.lens[i]) || got[1] != 3 {
					t.Errorf("string %d: % x, want %d bytes", i+1, got, tc.lens[i])
					continue
				}
				var ascii []byte
				for j := 2; j < len(got); j += 2 {
					if got[j+1] != 0 {
						t.Errorf("string %d: non-ASCII UTF-16 unit at %d", i+1, j)
					}
					ascii = append(ascii, got[j])
				}
				if string(ascii) != s {
					t.Errorf("string %d = %q, want %q", i+1, ascii, s)
				}
			}
		})
	}
}

// Every model, at every speed and in every configuration, produces descriptors the usbnic
// parser accepts, with the speed's packet sizes and the interfaces Linux matches on.
func TestEveryModelsDescriptorsParse(t *testing.T) {
	for _, m := range Models {
		for _, sp := range []usbnic.Speed{usbnic.SpeedFull, usbnic.SpeedHigh, usbnic.SpeedSuper} {
			t.Run(fmt.Sprintf("%s/%v", m.Name, sp), func(t *testing.T) {
				d := New(m, nil, WithSpeed(sp))
				dd, err := usbnic.ParseDeviceDesc(d.DeviceDescriptor())
				if err != nil {
					t.Fatal(err)
				}
				if dd.VendorID != m.VendorID || dd.ProductID != m.ProductID {
					t.Errorf("VID:PID %04x:%04x, want %04x:%04x", dd.VendorID, dd.ProductID, m.VendorID, m.ProductID)
				}
				wantBulk := map[usbnic.Speed]uint16{usbnic.SpeedFull: 64, usbnic.SpeedHigh: 512, usbnic.SpeedSuper: 1024}[d.Speed()]
				if (d.Speed() == usbnic.SpeedSuper) != (dd.MaxPacketSize0 == 9) {
					t.Errorf("bMaxPacketSize0 %d at %v", dd.MaxPacketSize0, d.Speed())
				}
				for i := 0; i < int(dd.NumConfigurations); i++ {
					raw, err := d.ConfigDescriptor(bg, i)
					if err != nil {
						t.Fatal(err)
					}
					c, err := usbnic.ParseConfig(raw)
					if err != nil {
						t.Fatalf("configuration %d: %v", i, err)
					}
					bulk := 0
					for _, f := range c.Interfaces {
						for _, a := range f.Alternates {
							for _, e := range a.Endpoints {
								if e.Type() == usbnic.EndpointBulk {
									bulk++
									if e.MaxPacketSize != wantBulk {
										t.Errorf("configuration %d endpoint %#02x: wMaxPacketSize %d, want %d", c.Value, e.Address, e.MaxPacketSize, wantBulk)
									}
								}
							}
						}
					}
					if bulk < 2 {
						t.Errorf("configuration %d has %d bulk endpoints", c.Value, bulk)
					}
					switch {
					case c.FindInterface(0xFF, 0xFF, 0x00) != nil:
					case c.FindInterface(0x02, 0x06, 0x00) != nil, c.FindInterface(0x02, 0x0D, 0x00) != nil:
						ctrl := c.Interfaces[0].Alternates[0]
						if ctrl.CDC.Ethernet == nil || ctrl.CDC.Union == nil || ctrl.CDC.Header == nil {
							t.Errorf("configuration %d: CDC functional descriptors missing: %+v", c.Value, ctrl.CDC)
						}
					default:
						t.Errorf("configuration %d has no vendor, ECM or NCM interface", c.Value)
					}
				}
			})
		}
	}
}

// The AX88179's descriptors are those of a real AX88179 on a SuperSpeed port (lsusb):
// bcdUSB 3.00, class ff/ff/00, 0b95:1790 bcdDevice 1.00, wTotalLength 57, bmAttributes 0xa0,
// 496 mA, interface ff/ff/00 with interrupt 0x81 (8 bytes, bInterval 11), bulk IN 0x82 (burst 3)
// and bulk OUT 0x03 (burst 15).
func TestAX88179DescriptorsMatchTheRealChip(t *testing.T) {
	d := New(AX88179, nil, WithSpeed(usbnic.SpeedSuper))
	want := hx(t, "12 01 00 03 ff ff 00 09 95 0b 90 17 00 01 01 02 03 01")
	if got := d.DeviceDescriptor(); !bytes.Equal(got, want) {
		t.Errorf("device\n got % x\nwant % x", got, want)
	}
	cfg, _ := d.ConfigDescriptor(bg, 0)
	want = hx(t, `09 02 39 00 01 01 00 a0 3e
		09 04 00 00 03 ff ff 00 04
		07 05 81 03 08 00 0b  06 30 00 00 08 00
		07 05 82 02 00 04 00  06 30 03 00 00 00
		07 05 03 02 00 04 00  06 30 0f 00 00 00`)
	if !bytes.Equal(cfg, want) {
		t.Errorf("configuration\n got % x\nwant % x", cfg, want)
	}
}

// The AX88179A has three configurations and starts where Linux puts it: CDC-NCM.
func TestAX88179AHasThreeConfigurationsAndStartsInNCM(t *testing.T) {
	d := New(AX88179A, nil, WithSpeed(usbnic.SpeedSuper))
	dd, _ := usbnic.ParseDeviceDesc(d.DeviceDescriptor())
	if dd.BcdDevice != 0x0200 || dd.NumConfigurations != 3 || dd.Class != 0 {
		t.Errorf("bcdDevice %#04x, %d configurations, class %d", dd.BcdDevice, dd.NumConfigurations, dd.Class)
	}
	if d.Configuration() != 2 {
		t.Errorf("starts in configuration %d, want 2", d.Configuration())
	}
	wantClass := [][3]uint8{{0xFF, 0xFF, 0}, {0x02, 0x0D, 0}, {0x02, 0x06, 0}}
	for i, w := range wantClass {
		raw, _ := d.ConfigDescriptor(bg, i)
		c, err := usbnic.ParseConfig(raw)
		if err != nil {
			t.Fatal(err)
		}
		a := c.Interfaces[0].Alternates[0]
		if c.Value != uint8(i+1) || a.Class != w[0] || a.Subclass != w[1] {
			t.Errorf("configuration %d: value %d, interface 0 class %02x/%02x", i, c.Value, a.Class, a.Subclass)
		}
		if i == 0 && len(a.Endpoints) != 4 {
			t.Errorf("vendor configuration has %d endpoints, want 4", len(a.Endpoints))
		}
	}
	if _, err := d.ConfigDescriptor(bg, 3); err == nil {
		t.Error("configuration index 3 exists")
	}
}

// A USB 2.0 chip asked to run at SuperSpeed runs at high speed.
func TestAX88772RunsAtHighSpeedOnASuperSpeedPort(t *testing.T) {
	d := New(AX88772B, nil, WithSpeed(usbnic.SpeedSuper))
	if d.Speed() != usbnic.SpeedHigh {
		t.Errorf("speed %v", d.Speed())
	}
	want := hx(t, "12 01 00 02 ff ff 00 40 95 0b 2b 77 01 00 01 02 03 01")
	if got := d.DeviceDescriptor(); !bytes.Equal(got, want) {
		t.Errorf("device\n got % x\nwant % x", got, want)
	}
}

func TestStringRequestsNeedEnglishAndAnExistingIndex(t *testing.T) {
	d := plug(t, CDCNCM, nil)
	for _, tc := range []struct {
		idx  uint8
		lang uint16
	}{{2, 0x0407}, {9, 0x0409}} {
		_, st, err := d.ControlIn(bg, usbnic.Setup{Type: usbnic.Standard, Request: 0x06, Value: 0x0300 | uint16(tc.idx), Index: tc.lang}, make([]byte, 255))
		if err != nil || st != usbnic.StatusStall {
			t.Errorf("string %d lang %#04x: %v %v, want a stall", tc.idx, tc.lang, st, err)
		}
	}
}
