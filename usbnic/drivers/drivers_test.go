package drivers

import (
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"webminiport/usbnic"
)

// specRow is one VID:PID of specs/usbnic.md, copied by hand from §1.1 and §2.1.
type specRow struct {
	vid, pid     uint16
	driver       string
	vendorIfOnly bool // the row matches only the 0xFF/0xFF/0x00 interface (Linux 6.18 ax88179)
}

var specRows = []specRow{
	// §1.1 AX88179 / AX88178A and rebrands.
	{0x0b95, 0x1790, "ax88179_178a", true},
	{0x0b95, 0x178a, "ax88179_178a", true},
	{0x04b4, 0x3610, "ax88179_178a", true},
	{0x2001, 0x4a00, "ax88179_178a", true},
	{0x0df6, 0x0072, "ax88179_178a", true},
	{0x04e8, 0xa100, "ax88179_178a", true},
	{0x17ef, 0x304b, "ax88179_178a", true},
	{0x050d, 0x0128, "ax88179_178a", true},
	{0x0930, 0x0a13, "ax88179_178a", true},
	{0x0711, 0x0179, "ax88179_178a", true},
	{0x07c9, 0x000e, "ax88179_178a", true},
	{0x07c9, 0x000f, "ax88179_178a", true},
	{0x07c9, 0x0010, "ax88179_178a", true},
	// §2.1 AX88772 family: VID:PID on any interface (Linux USB_DEVICE).
	{0x0b95, 0x7720, "asix", false},
	{0x0b95, 0x772b, "asix", false},
	{0x0b95, 0x772a, "asix", false},
	{0x0b95, 0x7e2b, "asix", false},
	{0x17ef, 0x7203, "asix", false},
	{0x13b1, 0x0018, "asix", false},
	{0x1557, 0x7720, "asix", false},
	{0x07d1, 0x3c05, "asix", false},
	{0x2001, 0x3c05, "asix", false},
	{0x2001, 0x1a02, "asix", false},
	{0x05ac, 0x1402, "asix", false},
	{0x0db0, 0xa877, "asix", false},
	{0x066b, 0x20f9, "asix", false},
	{0x33f7, 0x0004, "asix", false},
}

// desc is a device descriptor with the given IDs.
func desc(vid, pid, bcdDevice uint16, nconfigs uint8) usbnic.DeviceDesc {
	return usbnic.DeviceDesc{BcdUSB: 0x0300, VendorID: vid, ProductID: pid, BcdDevice: bcdDevice, NumConfigurations: nconfigs}
}

// config assembles and parses a configuration from descriptors (each with its bLength).
func config(t *testing.T, value byte, numIfaces byte, descs ...[]byte) *usbnic.Config {
	t.Helper()
	b := []byte{9, 2, 0, 0, numIfaces, value, 0, 0x80, 50}
	for _, d := range descs {
		b = append(b, d...)
	}
	b[2], b[3] = byte(len(b)), byte(len(b)>>8)
	cfg, err := usbnic.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// vendorConfig is the AX88179's vendor interface: 0xFF/0xFF/0x00 with interrupt IN and bulk
// IN/OUT (the AX88179A's configuration 1 has a fourth endpoint).
func vendorConfig(t *testing.T, value byte, extraEP bool) *usbnic.Config {
	eps := [][]byte{{7, 5, 0x81, 3, 8, 0, 11}, {7, 5, 0x82, 2, 0, 4, 0}, {7, 5, 0x03, 2, 0, 4, 0}}
	if extraEP {
		eps = append(eps, []byte{7, 5, 0x85, 2, 0, 4, 0})
	}
	descs := [][]byte{{9, 4, 0, 0, byte(len(eps)), 0xff, 0xff, 0x00, 0}}
	return config(t, value, 1, append(descs, eps...)...)
}

// The captured f_ncm and f_ecm configurations (data/usb/README.md), hand-copied.
const (
	ncmConfigHex = `09 02 5e 00 02 01 00 80 32 08 0b 00 02 02 0d 00 07 09 04 00 00 01 02 0d 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 06 24 1a 00 01 11 07 05 85 03 10 00 09 09 04
01 00 00 0a 00 01 06 09 04 01 01 02 0a 00 01 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
	ecmConfigHex = `09 02 58 00 02 01 00 80 32 08 0b 00 02 02 06 00 07 09 04 00 00 01 02 06 00 04 05 24 00 10 01 05
24 06 00 01 0d 24 0f 05 00 00 00 00 ea 05 00 00 00 07 05 85 03 10 00 09 09 04 01 00 00 0a 00 00
00 09 04 01 01 02 0a 00 00 06 07 05 81 02 00 02 00 07 05 02 02 00 02 00`
)

// captured parses one of the captured configurations, with bConfigurationValue set to value.
func captured(t *testing.T, s string, value byte) *usbnic.Config {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	b[5] = value
	cfg, err := usbnic.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestEveryVIDPIDOfTheSpecMatchesItsDriver(t *testing.T) {
	for _, r := range specRows {
		c, err := Match(desc(r.vid, r.pid, 0x0100, 1), []*usbnic.Config{vendorConfig(t, 1, false)})
		if err != nil {
			t.Errorf("%04x:%04x: %v", r.vid, r.pid, err)
			continue
		}
		if c.Driver.Name != r.driver || c.Config != 1 || !reflect.DeepEqual(c.Interfaces, []uint8{0}) || c.ID.VendorID != r.vid || c.ID.ProductID != r.pid {
			t.Errorf("%04x:%04x: %s config %d interfaces %v row %04x:%04x", r.vid, r.pid, c.Driver.Name, c.Config, c.Interfaces, c.ID.VendorID, c.ID.ProductID)
		}
		// With an interface of another class: only the VID:PID rows of the AX88772 family still
		// match; the AX88179 rows need the vendor interface (Linux 6.18).
		other := config(t, 1, 1, []byte{9, 4, 0, 0, 0, 0xff, 0x00, 0x00, 0})
		c, err = Match(desc(r.vid, r.pid, 0x0100, 1), []*usbnic.Config{other})
		if r.vendorIfOnly && err == nil {
			t.Errorf("%04x:%04x without the vendor interface matched %s", r.vid, r.pid, c.Driver.Name)
		}
		if !r.vendorIfOnly && (err != nil || c.Driver.Name != r.driver) {
			t.Errorf("%04x:%04x with another interface class: %v", r.vid, r.pid, err)
		}
	}
	// And the table holds nothing else: every vendor row is a row of the spec.
	want := map[[2]uint16]bool{}
	for _, r := range specRows {
		want[[2]uint16{r.vid, r.pid}] = true
	}
	for _, id := range IDs {
		if id.VendorID != 0 && !want[[2]uint16{id.VendorID, id.ProductID}] {
			t.Errorf("row %04x:%04x (%s) is not in the spec", id.VendorID, id.ProductID, id.Product)
		}
		if id.Driver == nil || id.Product == "" {
			t.Errorf("row %+v lacks a driver or a name", id)
		}
	}
}

func TestClassRowsMatchTheCapturedGadgets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    string
		driver string
		reason string
	}{
		{"ncm", ncmConfigHex, "cdc_ncm",
			"1d6b:0104 bcdDevice 1.00: CDC-NCM (Network Control Model), driver cdc_ncm on class configuration 1, interface 0 (02/0d/00) and data interface 1"},
		{"ecm", ecmConfigHex, "cdc_ether",
			"1d6b:0104 bcdDevice 1.00: CDC-ECM (Ethernet Control Model), driver cdc_ether on class configuration 1, interface 0 (02/06/00) and data interface 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Match(desc(0x1d6b, 0x0104, 0x0100, 1), []*usbnic.Config{captured(t, tc.cfg, 1)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Driver.Name != tc.driver || c.Config != 1 || !reflect.DeepEqual(c.Interfaces, []uint8{0, 1}) || c.ID.VendorID != 0 {
				t.Errorf("%s config %d interfaces %v", c.Driver.Name, c.Config, c.Interfaces)
			}
			if c.Reason != tc.reason {
				t.Errorf("reason\n %q\nwant\n %q", c.Reason, tc.reason)
			}
		})
	}
}

func TestAX88179AChoosesTheVendorConfiguration(t *testing.T) {
	// bcdDevice 2.00, three configurations: 1 vendor (4 endpoints), 2 CDC-NCM, 3 unknown
	// (here a vendor-specific interface with another subclass).
	cfg3 := config(t, 3, 1, []byte{9, 4, 0, 0, 0, 0xff, 0x01, 0x00, 0})
	d := desc(0x0b95, 0x1790, 0x0200, 3)
	want := "0b95:1790 bcdDevice 2.00, 3 configurations: ASIX AX88179 10/100/1000, driver ax88179_178a on vendor configuration 1, interface 0 (ff/ff/00)" +
		"; not chosen: CDC-NCM (Network Control Model) in configuration 2 (driver cdc_ncm); the vendor driver is preferred, as in Linux"
	for _, tc := range []struct {
		name    string
		configs []*usbnic.Config
		config  uint8
		reason  string
	}{
		{"vendor configuration first", []*usbnic.Config{vendorConfig(t, 1, true), captured(t, ncmConfigHex, 2), cfg3}, 1, want},
		{"vendor configuration listed after the class one",
			[]*usbnic.Config{captured(t, ncmConfigHex, 2), vendorConfig(t, 1, true), cfg3}, 1, want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Match(d, tc.configs)
			if err != nil {
				t.Fatal(err)
			}
			if c.Driver.Name != "ax88179_178a" || c.Config != tc.config || !reflect.DeepEqual(c.Interfaces, []uint8{0}) {
				t.Errorf("%s config %d interfaces %v", c.Driver.Name, c.Config, c.Interfaces)
			}
			if c.Reason != tc.reason {
				t.Errorf("reason\n %q\nwant\n %q", c.Reason, tc.reason)
			}
		})
	}
}

func TestAX88179AWithOnlyTheClassConfigurationGetsCdcNcm(t *testing.T) {
	// The vendor row needs its interface; a device showing only CDC-NCM goes to cdc_ncm.
	c, err := Match(desc(0x0b95, 0x1790, 0x0200, 1), []*usbnic.Config{captured(t, ncmConfigHex, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver.Name != "cdc_ncm" || c.Config != 2 || !reflect.DeepEqual(c.Interfaces, []uint8{0, 1}) {
		t.Errorf("%s config %d interfaces %v", c.Driver.Name, c.Config, c.Interfaces)
	}
}

func TestNCMIsPreferredOverECM(t *testing.T) {
	c, err := Match(desc(0x1234, 0x5678, 0x0100, 2), []*usbnic.Config{captured(t, ecmConfigHex, 1), captured(t, ncmConfigHex, 2)})
	if err != nil {
		t.Fatal(err)
	}
	want := "1234:5678 bcdDevice 1.00, 2 configurations: CDC-NCM (Network Control Model), driver cdc_ncm on class configuration 2, interface 0 (02/0d/00) and data interface 1" +
		"; not chosen: CDC-ECM (Ethernet Control Model) in configuration 1 (driver cdc_ether)"
	if c.Driver.Name != "cdc_ncm" || c.Config != 2 || c.Reason != want {
		t.Errorf("%s config %d, reason\n %q\nwant\n %q", c.Driver.Name, c.Config, c.Reason, want)
	}
}

func TestDataInterfaceFromTheIADWhenTheUnionIsMissing(t *testing.T) {
	cfg := config(t, 1, 2,
		[]byte{8, 0x0b, 2, 2, 0x02, 0x0d, 0x00, 0},
		[]byte{9, 4, 2, 0, 0, 0x02, 0x0d, 0x00, 0},
		[]byte{9, 4, 3, 0, 0, 0x0a, 0x00, 0x01, 0},
	)
	c, err := Match(desc(0x1234, 0x5678, 0x0100, 1), []*usbnic.Config{cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Interfaces, []uint8{2, 3}) {
		t.Errorf("interfaces %v, want [2 3]", c.Interfaces)
	}
}

func TestNoMatch(t *testing.T) {
	cfg := config(t, 1, 1, []byte{9, 4, 0, 0, 0, 0x08, 0x06, 0x50, 0})
	_, err := Match(desc(0x0781, 0x5581, 0x0100, 1), []*usbnic.Config{cfg})
	want := "0781:5581: no supported driver: no known VID:PID and no CDC-NCM or CDC-ECM interface in 1 configuration(s)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestWebUSBFiltersCoverEveryRow(t *testing.T) {
	fs := WebUSBFilters()
	if len(fs) != len(IDs) {
		t.Fatalf("%d filters for %d rows", len(fs), len(IDs))
	}
	for i, id := range IDs {
		f := fs[i]
		if id.VendorID != 0 {
			if f.VendorID == nil || *f.VendorID != id.VendorID || f.ProductID == nil || *f.ProductID != id.ProductID || f.ClassCode != nil {
				t.Errorf("row %d %04x:%04x: filter %+v", i, id.VendorID, id.ProductID, f)
			}
		} else if f.VendorID != nil || f.ClassCode == nil || *f.ClassCode != id.Class || *f.SubclassCode != id.Subclass || *f.ProtocolCode != id.Protocol {
			t.Errorf("row %d class %02x/%02x/%02x: filter %+v", i, id.Class, id.Subclass, id.Protocol, f)
		}
	}
	for _, r := range specRows {
		found := false
		for _, f := range fs {
			found = found || (f.VendorID != nil && *f.VendorID == r.vid && *f.ProductID == r.pid)
		}
		if !found {
			t.Errorf("no filter for %04x:%04x", r.vid, r.pid)
		}
	}
}

func TestWebUSBFiltersJSON(t *testing.T) {
	b, err := json.Marshal(WebUSBFilters())
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// The first vendor row and the two class rows, as requestDevice wants them; protocolCode 0
	// must be present (0 is a real protocol, not "any").
	for _, want := range []string{
		`{"vendorId":2965,"productId":6032}`,
		`{"classCode":2,"subclassCode":13,"protocolCode":0}`,
		`{"classCode":2,"subclassCode":6,"protocolCode":0}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	if !strings.HasPrefix(s, `[{"vendorId":2965,"productId":6032},`) || !strings.HasSuffix(s, `{"classCode":2,"subclassCode":6,"protocolCode":0}]`) {
		t.Errorf("order: %s", s)
	}
}
