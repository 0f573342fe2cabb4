package ui

import (
	"strings"
	"testing"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

func TestAppendNBLHTMLShowsFieldsFrameAndHistory(t *testing.T) {
	origin := time.Unix(100, 0)
	v := ndis.NBLView{NBL: 0x03000005, Pool: 1, PoolName: "usbnic0 rx", SourceHandle: 0x10, Source: "usbnic0",
		Owner: ndis.OwnerProtocol, HeldBy: ndis.ComponentProtocol, FirstNB: 0x03800005, DataLength: 60, BufferSize: 1536,
		HeldFor: 1500 * time.Millisecond}
	hist := []ndis.LogEntry{
		{Seq: 7, Time: origin.Add(2 * time.Second).UnixNano(), NBL: v.NBL, Kind: ndis.LogDeviceFilled,
			Component: ndis.ComponentMiniport, Owner: ndis.OwnerMiniport, Arg: 60},
		{Seq: 8, Time: origin.Add(2*time.Second + 10*time.Microsecond).UnixNano(), NBL: v.NBL, Kind: ndis.LogIndicated,
			Component: ndis.ComponentMiniport, Owner: ndis.OwnerProtocol, Arg: 0x400},
	}
	got := string(AppendNBLHTML(nil, v, 5, "held by protocol", []byte("ab"), "ARP Who has <x>?", hist, origin))
	for _, want := range []string{
		"<dt>NBL</dt><dd>0x03000005</dd>",
		"<dt>Slot</dt><dd>5</dd>",
		"<dt>Pool</dt><dd>usbnic0 rx · handle 0x00000001</dd>",
		"<dt>Source</dt><dd>0x00000010 - usbnic0</dd>",
		"<dt>Currently held by</dt><dd>Protocol (held by protocol)</dd>",
		"<dt>Held for</dt><dd>1.5 s</dd>",
		"<dt>NB: DataLength</dt><dd>60</dd>",
		"<p>ARP Who has &lt;x&gt;?</p>",
		`<span class="a">ab</span>`,
		"<tr><td>7</td><td>2.000000</td><td>" + ndis.LogDeviceFilled.String() + "</td><td>Miniport</td><td>miniport</td><td>frame of 60 bytes</td></tr>",
		"<td>flags 0x00000400</td>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestAppendNBLHTMLWithoutFrameOrHistorySaysWhy(t *testing.T) {
	v := ndis.NBLView{NBL: 1, Owner: ndis.OwnerMiniportFree, HeldBy: ndis.ComponentMiniport}
	got := string(AppendNBLHTML(nil, v, 0, "miniport free list", nil, "", nil, time.Unix(0, 0)))
	if !strings.Contains(got, "this one is miniport free list.") || !strings.Contains(got, "No event about this NBL") {
		t.Fatalf("got %s", got)
	}
	if strings.Contains(got, "NB: DataLength") {
		t.Fatal("NB fields shown for an NBL without an NB")
	}
}

func TestAppendPendingHTMLCapsTheRows(t *testing.T) {
	var v ndis.PendingView
	if got := string(AppendPendingHTML(nil, v, 3)); !strings.Contains(got, "Every NBL is at home") {
		t.Fatalf("empty view: %s", got)
	}
	for i := range 5 {
		v.Pending = append(v.Pending, ndis.PendingNBL{NBL: pool.NBL(0x100 + i), PoolName: "rx", HeldBy: ndis.ComponentProtocol,
			Owner: ndis.OwnerProtocol, HeldFor: 2 * time.Second})
	}
	got := string(AppendPendingHTML(nil, v, 3))
	if strings.Count(got, `class="row"`) != 3 || !strings.Contains(got, "… and 2 more") {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(got, "<span>0x00000100</span><span>Protocol · 2.0 s</span><span>held by protocol · rx</span>") {
		t.Fatalf("row layout: %s", got)
	}
}

func TestAppendLogHTMLIsNewestFirst(t *testing.T) {
	es := []ndis.LogEntry{{Seq: 1, Kind: ndis.LogAllocated}, {Seq: 2, Kind: ndis.LogDropped}}
	got := string(AppendLogHTML(nil, es, time.Unix(0, 0)))
	if strings.Index(got, "<span>2</span>") > strings.Index(got, "<span>1</span>") {
		t.Fatalf("oldest first: %s", got)
	}
	if !strings.Contains(got, "<span>2</span><span>—</span>") {
		t.Fatalf("a drop has no NBL: %s", got)
	}
}

func TestAppendReportsHTMLEscapesAndNamesTheBugcheck(t *testing.T) {
	r := []ndis.Report{{Seq: 1, Time: time.Unix(0, 0).UTC(), Err: &pool.MisuseError{Class: pool.DoubleFree, Pool: "<rx>", Detail: "again"}}}
	got := string(AppendReportsHTML(nil, r, 10))
	if !strings.Contains(got, "DOUBLE_FREE ("+pool.DoubleFree.Bugcheck()+")") || strings.Contains(got, "<rx>") {
		t.Fatalf("got %s", got)
	}
}
