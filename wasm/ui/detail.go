package ui

import (
	"strconv"

	"webminiport/ndis/capture"
)

// TreeNode is one line of a selected frame's layer tree, flattened in display order so that a
// click can name it by index (data-i in the HTML).
type TreeNode struct {
	Depth          int
	Text           string
	Offset, Length int // the frame bytes the line covers, for the hex dump highlight
	Children       int // lines below it that belong to it
}

// FlattenTree appends the tree of capture.Decoder.Dissect to dst[:0], depth first, parents
// before their children.
func FlattenTree(dst []TreeNode, nodes []capture.Node) []TreeNode {
	dst = dst[:0]
	var walk func(ns []capture.Node, depth int)
	walk = func(ns []capture.Node, depth int) {
		for i := range ns {
			n := &ns[i]
			at := len(dst)
			dst = append(dst, TreeNode{Depth: depth, Text: n.Text(), Offset: n.Offset, Length: n.Length})
			walk(n.Children, depth+1)
			dst[at].Children = len(dst) - at - 1
		}
	}
	walk(nodes, 0)
	return dst
}

// AppendTreeHTML appends the layer tree as HTML: each layer and each field with children a
// <details> (layers open, deeper ones closed), each leaf field a <div class="f">, every line
// carrying data-i, its index in flat. All text is escaped.
func AppendTreeHTML(dst []byte, flat []TreeNode) []byte {
	var emit func(i int) int
	emit = func(i int) int {
		n := &flat[i]
		if n.Children == 0 {
			dst = append(dst, `<div class="f" data-i="`...)
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, `" tabindex="-1">`...)
			dst = AppendEscaped(dst, n.Text)
			dst = append(dst, "</div>"...)
			return i + 1
		}
		dst = append(dst, "<details"...)
		if n.Depth == 0 {
			dst = append(dst, " open"...)
		}
		dst = append(dst, `><summary data-i="`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `">`...)
		dst = AppendEscaped(dst, n.Text)
		dst = append(dst, "</summary>"...)
		end := i + 1 + n.Children
		for j := i + 1; j < end; {
			j = emit(j)
		}
		dst = append(dst, "</details>"...)
		return end
	}
	for i := 0; i < len(flat); {
		i = emit(i)
	}
	return dst
}

// HexBytesPerLine is the width of the hex dump, as in Wireshark's bytes pane.
const HexBytesPerLine = 16

// AppendHexHTML appends a hex dump of frame as HTML, one <div> per 16 bytes: the offset, the
// bytes in hex in two groups of eight and their printable ASCII ('.' for the rest), with the bytes
// [hlOff, hlOff+hlLen) wrapped in <mark> in both columns.
func AppendHexHTML(dst, frame []byte, hlOff, hlLen int) []byte {
	const hexDigits = "0123456789abcdef"
	hlEnd := hlOff + hlLen
	in := func(i int) bool { return hlLen > 0 && i >= hlOff && i < hlEnd }
	for line := 0; line < len(frame); line += HexBytesPerLine {
		end := min(line+HexBytesPerLine, len(frame))
		dst = append(dst, `<div><span class="o">`...)
		for shift := 12; shift >= 0; shift -= 4 {
			dst = append(dst, hexDigits[line>>uint(shift)&0xf])
		}
		dst = append(dst, "</span> "...)
		marked := false
		for i := line; i < line+HexBytesPerLine; i++ {
			m := i < end && in(i)
			if marked && !m {
				dst = append(dst, "</mark>"...)
			}
			// The separator goes inside the mark only between two marked bytes, so that a
			// highlighted run reads as one block.
			dst = append(dst, ' ')
			if i == line+8 {
				dst = append(dst, ' ')
			}
			if !marked && m {
				dst = append(dst, "<mark>"...)
			}
			marked = m
			if i < end {
				b := frame[i]
				dst = append(dst, hexDigits[b>>4], hexDigits[b&0xf])
			} else {
				dst = append(dst, "  "...)
			}
		}
		if marked {
			dst = append(dst, "</mark>"...)
			marked = false
		}
		dst = append(dst, `  <span class="a">`...)
		for i := line; i < end; i++ {
			if in(i) != marked {
				if marked {
					dst = append(dst, "</mark>"...)
				} else {
					dst = append(dst, "<mark>"...)
				}
				marked = !marked
			}
			b := frame[i]
			if b < 0x20 || b > 0x7e {
				b = '.'
			}
			dst = appendEscapedByte(dst, b)
		}
		if marked {
			dst = append(dst, "</mark>"...)
		}
		dst = append(dst, "</span></div>"...)
	}
	return dst
}

// AppendEscaped appends s with the characters that mean something in HTML escaped.
func AppendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = appendEscapedByte(dst, s[i])
	}
	return dst
}

func appendEscapedByte(dst []byte, b byte) []byte {
	switch b {
	case '&':
		return append(dst, "&amp;"...)
	case '<':
		return append(dst, "&lt;"...)
	case '>':
		return append(dst, "&gt;"...)
	case '"':
		return append(dst, "&#34;"...)
	case '\'':
		return append(dst, "&#39;"...)
	}
	return append(dst, b)
}
