package usbnic_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"webminiport/usbnic"
)

// The seed corpora in testdata/fuzz hold the two captured configurations and one input per
// rule the parser enforces.

func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := usbnic.ParseConfig(b)
		if err != nil {
			var de *usbnic.DescriptorError
			if !errors.As(err, &de) || de.Offset >= len(b) {
				t.Fatalf("error %v (%T) is not a DescriptorError inside the input", err, err)
			}
			return
		}
		// What a parsed configuration promises its users.
		for _, iface := range cfg.Interfaces {
			if len(iface.Alternates) == 0 {
				t.Fatalf("interface %d without alternate settings", iface.Number)
			}
			for _, alt := range iface.Alternates {
				for _, ep := range alt.Endpoints {
					if ep.Address&0x0F == 0 || ep.MaxPacketSize > 0x7FF {
						t.Fatalf("endpoint %+v", ep)
					}
				}
				if u := alt.CDC.Union; u != nil {
					for _, n := range append([]uint8{u.Master}, u.Slaves...) {
						if cfg.Interface(n) == nil {
							t.Fatalf("union names missing interface %d", n)
						}
					}
				}
			}
		}
		for _, iad := range cfg.IADs {
			for n := int(iad.FirstInterface); n < int(iad.FirstInterface)+int(iad.InterfaceCount); n++ {
				if cfg.Interface(uint8(n)) == nil {
					t.Fatalf("IAD names missing interface %d", n)
				}
			}
		}
	})
}

func FuzzParseDeviceDesc(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := usbnic.ParseDeviceDesc(b)
		if err == nil && (len(b) < 18 || d.VendorID != uint16(b[8])|uint16(b[9])<<8) {
			t.Fatalf("accepted %x as %+v", b, d)
		}
	})
}

func FuzzParseString(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := usbnic.ParseString(b)
		if err == nil && !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q", s)
		}
	})
}

func FuzzParseNotification(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := usbnic.ParseNotification(b)
		if (err == nil) != (len(b) >= usbnic.NotificationHeaderLen) {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
		if err == nil && (n.RequestType != b[0] || n.Code != b[1]) {
			t.Fatalf("%+v from % x", n, b)
		}
	})
}
