package ui

import (
	"strconv"
	"time"

	"webminiport/ndis"
	"webminiport/pool"
)

// The !ndiskd views the page shows (specs/ndis.md §7), as HTML built from the model's data.
// They are refreshed a few times a second, not per frame, and may allocate.

// AppendNBLHTML appends the nbl view of one NBL: the fields of `!ndiskd.nbl` and `!ndiskd.nb`,
// the frame it carries (summary and hex dump, when frame is not nil) and its history from the
// tracking log (`nbl -log`), times relative to origin.
func AppendNBLHTML(dst []byte, v ndis.NBLView, slot int, owner string, frame []byte, summary string,
	history []ndis.LogEntry, origin time.Time) []byte {
	field := func(name string, value []byte) {
		dst = append(dst, "<dt>"...)
		dst = AppendEscaped(dst, name)
		dst = append(dst, "</dt><dd>"...)
		dst = append(dst, value...) // values are built here from numbers or escaped below
		dst = append(dst, "</dd>"...)
	}
	hex := func(x uint32) []byte { return AppendHex32(nil, x) }
	esc := func(s string) []byte { return AppendEscaped(nil, s) }
	dst = append(dst, "<dl>"...)
	field("NBL", hex(uint32(v.NBL)))
	field("Slot", strconv.AppendInt(nil, int64(slot), 10))
	field("Pool", append(append(esc(v.PoolName), " · handle "...), hex(uint32(v.Pool))...))
	field("Next NBL", hex(uint32(v.Next)))
	field("First NB", hex(uint32(v.FirstNB)))
	src := hex(v.SourceHandle)
	if v.Source != "" {
		src = append(append(src, " - "...), esc(v.Source)...)
	}
	field("Source", src)
	field("Flags", hex(v.Flags))
	field("NblFlags", hex(v.NblFlags))
	field("Status", esc(v.Status.String()))
	held := append(esc(v.HeldBy.String()), " ("...)
	held = append(append(held, esc(owner)...), ')')
	field("Currently held by", held)
	if v.HeldFor > 0 {
		field("Held for", AppendDuration(nil, v.HeldFor))
	}
	if v.FirstNB != 0 {
		field("NB: Next NB", hex(uint32(v.NextNB)))
		field("NB: DataOffset", strconv.AppendUint(nil, uint64(v.DataOffset), 10))
		field("NB: DataLength", strconv.AppendUint(nil, uint64(v.DataLength), 10))
		field("NB: buffer", append(strconv.AppendInt(nil, int64(v.BufferSize), 10), " bytes"...))
	}
	dst = append(dst, "</dl>"...)

	dst = append(dst, "<h3>Frame</h3>"...)
	if frame != nil {
		dst = append(dst, "<p>"...)
		dst = AppendEscaped(dst, summary)
		dst = append(dst, "</p><div class=\"hex\">"...)
		dst = AppendHexHTML(dst, frame, 0, 0)
		dst = append(dst, "</div>"...)
	} else {
		dst = append(dst, `<p class="hint">Only an NBL the protocol holds carries a frame nobody is changing; this one is `...)
		dst = AppendEscaped(dst, owner)
		dst = append(dst, ".</p>"...)
	}

	dst = append(dst, "<h3>History (nbl -log)</h3>"...)
	if len(history) == 0 {
		dst = append(dst, `<p class="hint">No event about this NBL is left in the tracking log.</p>`...)
		return dst
	}
	dst = append(dst, "<table><thead><tr><th>Seq</th><th>Time</th><th>Event</th><th>By</th><th>Owner after</th><th>Detail</th></tr></thead><tbody>"...)
	for _, e := range history {
		dst = appendLogCells(dst, e, origin)
	}
	return append(dst, "</tbody></table>"...)
}

// appendLogCells appends one log entry as a table row.
func appendLogCells(dst []byte, e ndis.LogEntry, origin time.Time) []byte {
	dst = append(dst, "<tr><td>"...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, "</td><td>"...)
	dst = AppendSeconds(dst, time.Unix(0, e.Time).Sub(origin))
	dst = append(dst, "</td><td>"...)
	dst = AppendEscaped(dst, e.Kind.String())
	dst = append(dst, "</td><td>"...)
	dst = AppendEscaped(dst, e.Component.String())
	dst = append(dst, "</td><td>"...)
	dst = AppendEscaped(dst, ndis.OwnerName(e.Owner))
	dst = append(dst, "</td><td>"...)
	dst = appendLogArg(dst, e)
	return append(dst, "</td></tr>"...)
}

// appendLogArg words a log entry's argument by its kind (ndis.LogEntry.Arg).
func appendLogArg(dst []byte, e ndis.LogEntry) []byte {
	switch e.Kind {
	case ndis.LogDeviceFilled, ndis.LogFiltered:
		dst = append(dst, "frame of "...)
		dst = strconv.AppendUint(dst, uint64(e.Arg), 10)
		return append(dst, " bytes"...)
	case ndis.LogIndicated, ndis.LogIndicatedResources, ndis.LogReturned, ndis.LogSent:
		dst = append(dst, "flags "...)
		return AppendHex32(dst, e.Arg)
	case ndis.LogSendCompleted:
		return AppendEscaped(dst, ndis.Status(e.Arg).String())
	}
	return dst
}

// AppendLogHTML appends the nbllog tail: the entries newest first, as rows of handle, time,
// event, actor and the owner after it.
func AppendLogHTML(dst []byte, entries []ndis.LogEntry, origin time.Time) []byte {
	if len(entries) == 0 {
		return append(dst, `<div class="empty">The tracking log is empty.</div>`...)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		dst = append(dst, `<div class="row"><span>`...)
		dst = strconv.AppendUint(dst, e.Seq, 10)
		dst = append(dst, "</span><span>"...)
		if e.NBL != 0 {
			dst = AppendHex32(dst, uint32(e.NBL))
		} else {
			dst = append(dst, "—"...)
		}
		dst = append(dst, "</span><span>"...)
		dst = AppendEscaped(dst, e.Kind.String())
		dst = append(dst, "</span><span>"...)
		dst = AppendEscaped(dst, e.Component.String())
		dst = append(dst, "</span><span>→ "...)
		dst = AppendEscaped(dst, ndis.OwnerName(e.Owner))
		if e.Kind == ndis.LogDeviceFilled || e.Kind == ndis.LogSendCompleted {
			dst = append(dst, " · "...)
			dst = appendLogArg(dst, e)
		}
		dst = append(dst, "</span></div>"...)
	}
	return dst
}

// AppendPendingHTML appends the NBLs of pendingnbls, at most max rows, then how many more.
func AppendPendingHTML(dst []byte, v ndis.PendingView, max int) []byte {
	if len(v.Pending) == 0 {
		return append(dst, `<div class="empty">Every NBL is at home.</div>`...)
	}
	for i, n := range v.Pending {
		if i == max {
			dst = append(dst, `<div class="empty">… and `...)
			dst = AppendCount(dst, uint64(len(v.Pending)-max))
			return append(dst, " more</div>"...)
		}
		dst = append(dst, `<div class="row"><span>`...)
		dst = AppendHex32(dst, uint32(n.NBL))
		dst = append(dst, "</span><span>"...)
		dst = AppendEscaped(dst, n.HeldBy.String())
		if n.HeldFor > 0 {
			dst = append(dst, " · "...)
			dst = AppendDuration(dst, n.HeldFor)
		}
		dst = append(dst, "</span><span>"...)
		dst = AppendEscaped(dst, ndis.OwnerName(n.Owner))
		dst = append(dst, " · "...)
		dst = AppendEscaped(dst, n.PoolName)
		dst = append(dst, "</span></div>"...)
	}
	return dst
}

// AppendReportsHTML appends the newest max reports, newest first.
func AppendReportsHTML(dst []byte, reports []ndis.Report, max int) []byte {
	if len(reports) == 0 {
		return append(dst, `<div class="empty">No misuse and no watchdog has fired.</div>`...)
	}
	shown := 0
	for i := len(reports) - 1; i >= 0 && shown < max; i-- {
		r := reports[i]
		shown++
		dst = append(dst, `<div class="report"><span class="cls">`...)
		if r.Err != nil {
			dst = AppendEscaped(dst, r.Err.Class.String())
			if b := r.Err.Class.Bugcheck(); b != "" {
				dst = append(dst, " ("...)
				dst = AppendEscaped(dst, b)
				dst = append(dst, ')')
			}
		}
		dst = append(dst, `</span> <span class="note">#`...)
		dst = strconv.AppendUint(dst, r.Seq, 10)
		dst = append(dst, ` at `...)
		dst = append(dst, r.Time.Format("15:04:05.000")...)
		dst = append(dst, `</span><div class="msg">`...)
		if r.Err != nil {
			dst = AppendEscaped(dst, r.Err.Error())
		}
		dst = append(dst, "</div></div>"...)
	}
	return dst
}

// OwnerClass is the CSS class of an owner's swatch (web/style.css .o0 … .o10).
func OwnerClass(o pool.Owner) string { return "o" + strconv.Itoa(int(o)) }
