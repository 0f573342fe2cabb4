package ui

import (
	"strings"
	"testing"
)

func TestParseColor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RGBA
	}{
		{" #3b82f6", RGBA{0x3b, 0x82, 0xf6, 255}},
		{"#fff", RGBA{255, 255, 255, 255}},
		{"#0F0\n", RGBA{0, 255, 0, 255}},
		{"#11223344", RGBA{0x11, 0x22, 0x33, 0x44}},
	} {
		got, err := ParseColor(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseColor(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "red", "#12", "#1234", "#12345g", "#123456789", "rgb(1, 2, 3)"} {
		if _, err := ParseColor(in); err == nil || !strings.Contains(err.Error(), "colour") {
			t.Errorf("ParseColor(%q) = %v, want an error naming the colour", in, err)
		}
	}
}

// FuzzParseColor checks that any string gives a colour or an error, and that a colour printed
// back as #rrggbbaa parses to itself.
func FuzzParseColor(f *testing.F) {
	for _, s := range []string{"#3b82f6", "#fff", " #11223344 ", "#", "#zzzzzz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseColor(s)
		if err != nil {
			return
		}
		const hex = "0123456789abcdef"
		back := []byte{'#'}
		for _, v := range []uint8{c.R, c.G, c.B, c.A} {
			back = append(back, hex[v>>4], hex[v&15])
		}
		if again, err := ParseColor(string(back)); err != nil || again != c {
			t.Fatalf("%q parsed to %v, printed as %s, parsed back to %v, %v", s, c, back, again, err)
		}
	})
}
