package ui

import (
	"math"
	"strconv"
	"time"
)

// groupSep separates thousands: U+202F NARROW NO-BREAK SPACE, the SI style, which reads the same
// in every locale and never breaks a number across lines.
const groupSep = "\u202f"

// AppendCount appends v with its thousands grouped: 1 234 567.
func AppendCount(dst []byte, v uint64) []byte {
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], v, 10)
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			dst = append(dst, groupSep...)
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendInt is AppendCount for a signed value.
func AppendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		return AppendCount(dst, uint64(-v))
	}
	return AppendCount(dst, uint64(v))
}

var siPrefixes = [...]string{"", "k", "M", "G", "T"}

// AppendSI appends v with three significant digits and an SI prefix before unit: 0, 950, 1.23 k,
// 45.6 M. Values below 1 but not 0 keep two decimals.
func AppendSI(dst []byte, v float64, unit string) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	neg := v < 0
	if neg {
		v = -v
		dst = append(dst, '-')
	}
	i := 0
	for v >= 999.5 && i < len(siPrefixes)-1 {
		v /= 1000
		i++
	}
	prec := 0
	switch {
	case v == 0 || (i == 0 && v == math.Trunc(v)):
	case v < 9.995:
		prec = 2
	case v < 99.95:
		prec = 1
	}
	dst = strconv.AppendFloat(dst, v, 'f', prec, 64)
	dst = append(dst, ' ')
	dst = append(dst, siPrefixes[i]...)
	return append(dst, unit...)
}

// AppendBytes appends a byte count in binary units: 512 B, 1.5 KiB, 32.0 MiB.
func AppendBytes(dst []byte, n uint64) []byte {
	const units = "KMGT"
	if n < 1024 {
		dst = strconv.AppendUint(dst, n, 10)
		return append(dst, " B"...)
	}
	v, i := float64(n)/1024, 0
	for v >= 1023.95 && i < len(units)-1 {
		v /= 1024
		i++
	}
	dst = strconv.AppendFloat(dst, v, 'f', 1, 64)
	return append(dst, ' ', units[i], 'i', 'B')
}

// AppendDuration appends d rounded for a human: 0 s, 850 µs, 12 ms, 1.5 s, 3 min 20 s.
func AppendDuration(dst []byte, d time.Duration) []byte {
	switch {
	case d <= 0:
		return append(dst, "0 s"...)
	case d < time.Millisecond:
		dst = strconv.AppendInt(dst, int64(d/time.Microsecond), 10)
		return append(dst, " µs"...)
	case d < time.Second:
		dst = strconv.AppendInt(dst, int64(d/time.Millisecond), 10)
		return append(dst, " ms"...)
	case d < 10*time.Second:
		dst = strconv.AppendFloat(dst, d.Seconds(), 'f', 1, 64)
		return append(dst, " s"...)
	case d < time.Minute:
		dst = strconv.AppendInt(dst, int64(d/time.Second), 10)
		return append(dst, " s"...)
	}
	dst = strconv.AppendInt(dst, int64(d/time.Minute), 10)
	dst = append(dst, " min "...)
	dst = strconv.AppendInt(dst, int64(d%time.Minute/time.Second), 10)
	return append(dst, " s"...)
}

// AppendHex32 appends v as 0x and eight hex digits, the way !ndiskd prints handles.
func AppendHex32(dst []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	dst = append(dst, '0', 'x')
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[v>>uint(shift)&0xf])
	}
	return dst
}

// AppendSeconds appends a time offset in seconds with microsecond precision, the frame table's
// time column: 12.345678.
func AppendSeconds(dst []byte, d time.Duration) []byte {
	if d < 0 {
		dst = append(dst, '-')
		d = -d
	}
	dst = strconv.AppendInt(dst, int64(d/time.Second), 10)
	dst = append(dst, '.')
	us := int64(d % time.Second / time.Microsecond)
	for div := int64(100000); div > 0; div /= 10 {
		dst = append(dst, byte('0'+us/div%10))
	}
	return dst
}
