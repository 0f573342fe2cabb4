package ui

import (
	"strings"
	"testing"

	"webminiport/ndis/capture"
)

func TestFlattenTreeCountsChildren(t *testing.T) {
	nodes := []capture.Node{
		{Name: "Ethernet II", Offset: 0, Length: 14, Children: []capture.Node{
			{Name: "Destination", Value: "ff:ff:ff:ff:ff:ff", Offset: 0, Length: 6},
			{Name: "Type", Value: "ARP (0x0806)", Offset: 12, Length: 2},
		}},
		{Name: "ARP", Offset: 14, Length: 28},
	}
	flat := FlattenTree(nil, nodes)
	want := []TreeNode{
		{Depth: 0, Text: "Ethernet II", Offset: 0, Length: 14, Children: 2},
		{Depth: 1, Text: "Destination: ff:ff:ff:ff:ff:ff", Offset: 0, Length: 6},
		{Depth: 1, Text: "Type: ARP (0x0806)", Offset: 12, Length: 2},
		{Depth: 0, Text: "ARP", Offset: 14, Length: 28},
	}
	if len(flat) != len(want) {
		t.Fatalf("got %+v", flat)
	}
	for i := range want {
		if flat[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, flat[i], want[i])
		}
	}
}

func TestAppendTreeHTMLNestsAndEscapes(t *testing.T) {
	flat := []TreeNode{
		{Depth: 0, Text: "Layer <1>", Children: 2},
		{Depth: 1, Text: "Flags", Children: 1},
		{Depth: 2, Text: `a & "b"`},
		{Depth: 0, Text: "Payload"},
	}
	got := string(AppendTreeHTML(nil, flat))
	want := `<details open><summary data-i="0">Layer &lt;1&gt;</summary>` +
		`<details><summary data-i="1">Flags</summary>` +
		`<div class="f" data-i="2" tabindex="-1">a &amp; &#34;b&#34;</div>` +
		`</details></details>` +
		`<div class="f" data-i="3" tabindex="-1">Payload</div>`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppendHexHTMLWithoutHighlight(t *testing.T) {
	frame := []byte("ABCDEFGHIJKLMNOPQ<")
	got := string(AppendHexHTML(nil, frame, 0, 0))
	want := `<div><span class="o">0000</span>  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  <span class="a">ABCDEFGHIJKLMNOP</span></div>` +
		`<div><span class="o">0010</span>  51 3c` + strings.Repeat(" ", 14*3+1) /* 14 empty slots and the group gap */ + `  <span class="a">Q&lt;</span></div>`
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAppendHexHTMLMarksARunAcrossTheGroupGap(t *testing.T) {
	frame := make([]byte, 16)
	for i := range frame {
		frame[i] = byte(i)
	}
	frame[7] = 'x'
	got := string(AppendHexHTML(nil, frame, 6, 4)) // bytes 6..9
	want := `<div><span class="o">0000</span>  00 01 02 03 04 05 <mark>06 78  08 09</mark> 0a 0b 0c 0d 0e 0f  ` +
		`<span class="a">......<mark>.x..</mark>......</span></div>`
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAppendHexHTMLMarkSpansLines(t *testing.T) {
	frame := make([]byte, 18)
	got := string(AppendHexHTML(nil, frame, 15, 2)) // last byte of line 0, first of line 1
	want := `<div><span class="o">0000</span>  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 <mark>00</mark>  ` +
		`<span class="a">...............<mark>.</mark></span></div>` +
		`<div><span class="o">0010</span>  <mark>00</mark> 00` + strings.Repeat(" ", 14*3+1) /* 14 empty slots and the group gap */ +
		`  <span class="a"><mark>.</mark>.</span></div>`
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
