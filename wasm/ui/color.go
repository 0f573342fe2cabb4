package ui

import (
	"fmt"
	"strings"
)

// RGBA is a colour with 8 bits per channel, alpha last, as canvas pixel buffers hold them.
type RGBA struct{ R, G, B, A uint8 }

// u32 packs the colour for the command buffer: R in the low byte, as it sits in memory.
func (c RGBA) u32() uint32 {
	return uint32(c.R) | uint32(c.G)<<8 | uint32(c.B)<<16 | uint32(c.A)<<24
}

// ParseColor reads a CSS hex colour as custom properties hold them: #rgb, #rrggbb or #rrggbbaa,
// with surrounding spaces (getPropertyValue keeps the space after the colon).
func ParseColor(s string) (RGBA, error) {
	t := strings.TrimSpace(s)
	if len(t) == 0 || t[0] != '#' {
		return RGBA{}, fmt.Errorf("colour %q: want #rgb, #rrggbb or #rrggbbaa", s)
	}
	h := t[1:]
	var d [8]uint8
	for i := 0; i < len(h); i++ {
		if i == len(d) {
			return RGBA{}, fmt.Errorf("colour %q: too many hex digits", s)
		}
		v, ok := hexValue(h[i])
		if !ok {
			return RGBA{}, fmt.Errorf("colour %q: %q at position %d is not a hex digit", s, h[i], i+1)
		}
		d[i] = v
	}
	switch len(h) {
	case 3:
		return RGBA{d[0] * 17, d[1] * 17, d[2] * 17, 255}, nil
	case 6:
		return RGBA{d[0]<<4 | d[1], d[2]<<4 | d[3], d[4]<<4 | d[5], 255}, nil
	case 8:
		return RGBA{d[0]<<4 | d[1], d[2]<<4 | d[3], d[4]<<4 | d[5], d[6]<<4 | d[7]}, nil
	}
	return RGBA{}, fmt.Errorf("colour %q: %d hex digits, want 3, 6 or 8", s, len(h))
}

func hexValue(c byte) (uint8, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
