package usbnic

import (
	"context"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// Standard requests used to read descriptors.
const (
	ReqGetDescriptor = 0x06
	ReqSetInterface  = 0x0B
)

// LangIDEnglishUS is the language Linux falls back to when string descriptor 0 is malformed.
const LangIDEnglishUS = 0x0409

// stringDescMax is wLength for string reads: the largest descriptor a bLength can describe.
// Linux asks for 255 too (see the captures in data/usb).
const stringDescMax = 255

// ParseString decodes a string descriptor (bLength, 0x03, UTF-16LE code units). Like Linux it
// ignores a trailing odd byte.
func ParseString(b []byte) (string, error) {
	units, err := stringUnits(b)
	if err != nil {
		return "", err
	}
	u16 := make([]uint16, len(units)/2)
	for i := range u16 {
		u16[i] = binary.LittleEndian.Uint16(units[2*i:])
	}
	return string(utf16.Decode(u16)), nil
}

// ParseLangIDs decodes string descriptor 0, the list of supported LANGIDs.
func ParseLangIDs(b []byte) ([]uint16, error) {
	units, err := stringUnits(b)
	if err != nil {
		return nil, err
	}
	ids := make([]uint16, len(units)/2)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint16(units[2*i:])
	}
	return ids, nil
}

// stringUnits checks a string descriptor's header and returns its payload.
func stringUnits(b []byte) ([]byte, error) {
	const set = "string descriptor"
	if len(b) < 2 {
		return nil, &DescriptorError{Set: set, Offset: -1, Reason: fmt.Sprintf("%d bytes, want at least 2", len(b))}
	}
	if b[1] != DescString {
		return nil, &DescriptorError{Set: set, Offset: 0, Type: b[1], Reason: fmt.Sprintf("bDescriptorType %#02x, want %#02x", b[1], DescString)}
	}
	l := int(b[0])
	if l < 2 {
		return nil, &DescriptorError{Set: set, Offset: 0, Type: DescString, Reason: fmt.Sprintf("bLength %d, want at least 2", l)}
	}
	if l > len(b) {
		return nil, &DescriptorError{Set: set, Offset: 0, Type: DescString, Reason: fmt.Sprintf("bLength %d, but only %d bytes received", l, len(b))}
	}
	return b[2 : l-(l%2)], nil
}

// ReadLangID reads string descriptor 0 and returns the first LANGID, the one Linux uses for
// every later string read. A malformed or empty table means English (US), as in Linux; a
// device that stalls or fails gets an error.
func ReadLangID(ctx context.Context, t Transport) (uint16, error) {
	var buf [stringDescMax]byte
	n, err := ReadDescriptor(ctx, t, DescString, 0, 0, buf[:])
	if err != nil {
		return 0, fmt.Errorf("reading string descriptor 0 (language IDs): %w", err)
	}
	ids, err := ParseLangIDs(buf[:n])
	if err != nil || len(ids) == 0 {
		return LangIDEnglishUS, nil
	}
	return ids[0], nil
}

// ReadString reads string descriptor index in language langID and decodes it.
func ReadString(ctx context.Context, t Transport, index uint8, langID uint16) (string, error) {
	if index == 0 {
		return "", fmt.Errorf("string descriptor index 0 is the language table, not a string")
	}
	var buf [stringDescMax]byte
	n, err := ReadDescriptor(ctx, t, DescString, index, langID, buf[:])
	if err != nil {
		return "", fmt.Errorf("reading string descriptor %d: %w", index, err)
	}
	s, err := ParseString(buf[:n])
	if err != nil {
		return "", fmt.Errorf("string %d: %w", index, err)
	}
	return s, nil
}

// ReadDescriptor issues GET_DESCRIPTOR (standard, device) for descriptor typ/index with wIndex
// (the LANGID for strings) and wLength len(buf), and returns how many bytes came back.
func ReadDescriptor(ctx context.Context, t Transport, typ, index uint8, wIndex uint16, buf []byte) (int, error) {
	s := Setup{Type: Standard, Recipient: ToDevice, Request: ReqGetDescriptor, Value: uint16(typ)<<8 | uint16(index), Index: wIndex}
	return controlIn(ctx, t, s, buf)
}
