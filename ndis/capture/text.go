package capture

import (
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// Formatting helpers for the summary line. They append to a byte slice and
// never allocate while the slice has room, unlike fmt.

const hexDigits = "0123456789abcdef"

// appendMAC appends a hardware address as colon-separated hex bytes.
func appendMAC(b, mac []byte) []byte {
	for i, x := range mac {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return b
}

// appendIP appends a 4- or 16-byte address in its usual text form; any
// other length (a malformed ARP packet) as hex bytes.
func appendIP(b, ip []byte) []byte {
	switch len(ip) {
	case 4:
		return netip.AddrFrom4([4]byte(ip)).AppendTo(b)
	case 16:
		return netip.AddrFrom16([16]byte(ip)).AppendTo(b)
	}
	return appendMAC(b, ip)
}

// appendHex appends v as "0x" and exactly digits hex digits.
func appendHex(b []byte, v uint64, digits int) []byte {
	b = append(b, '0', 'x')
	return appendHexDigits(b, v, digits)
}

// appendHexDigits appends v as exactly digits hex digits, no prefix.
func appendHexDigits(b []byte, v uint64, digits int) []byte {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b = append(b, hexDigits[v>>uint(shift)&0xf])
	}
	return b
}

func appendDec(b []byte, v uint64) []byte {
	return strconv.AppendUint(b, v, 10)
}

// putText copies src into dst and returns the length written. Text longer
// than dst is cut at a character boundary and ends with "…".
func putText(dst, src []byte) int {
	if len(src) <= len(dst) {
		return copy(dst, src)
	}
	const ellipsis = "…"
	n := len(dst) - len(ellipsis)
	for n > 0 && !utf8.RuneStart(src[n]) {
		n--
	}
	copy(dst, src[:n])
	return n + copy(dst[n:], ellipsis)
}
