package session

import (
	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/pool"
	"webminiport/usbnic"
	"webminiport/usbnic/sim/wire"
)

// MaxPools bounds the pools a Sample carries: the adapter makes two (the miniport's receive pool
// and the capture driver's send pool).
const MaxPools = 4

// Sample is what the page draws every animation frame. Session.Sample fills it without
// allocating: every field is a value, and the pools' owner maps are copied separately into the
// page's own buffers (CopyOwners).
type Sample struct {
	// Gen changes whenever the adapter, its state or its pools change (bring-up, halt, a switch
	// of model or profile): the page rebuilds what depends on them (pool cards, adapter bar).
	Gen        uint64
	Source     Source
	HasAdapter bool // an adapter was initialized (it may have been halted since)
	State      ndis.State
	Stats      ndis.Statistics
	NIC        usbnic.Stats
	Capture    capture.DriverCounters
	Ring       capture.RingStats
	// Outstanding is how many receive NBLs the protocol holds; SendsPending how many sends the
	// miniport has not completed.
	Outstanding, SendsPending int
	ReportCount               uint64
	NumPools                  int
	Pools                     [MaxPools]pool.Stats
	HasWire                   bool
	Wire                      wire.Snapshot
	GateWaits                 uint64
}

// Sample fills dst with the current counters.
func (s *Session) Sample(dst *Sample) {
	v := s.view.Load()
	*dst = Sample{Gen: v.gen, Source: v.source}
	if v.ad != nil {
		a := v.ad.NDIS
		dst.HasAdapter = true
		dst.State = a.State()
		dst.Stats = a.Statistics()
		dst.NIC = v.ad.NIC.Stats()
		dst.Outstanding = a.Outstanding()
		dst.SendsPending = a.SendsPending()
		dst.ReportCount = a.ReportCount()
	}
	if v.drv != nil {
		dst.Capture = v.drv.Counters()
	}
	dst.Ring = s.ring.Stats()
	dst.NumPools = min(len(v.pools), MaxPools)
	for i := range dst.NumPools {
		dst.Pools[i] = v.pools[i].p.Stats()
	}
	if v.wire != nil {
		dst.HasWire = true
		dst.Wire = v.wire.Snapshot()
	}
	if s.cfg.Gate != nil {
		dst.GateWaits = s.cfg.Gate.Waits()
	}
}

// CopyOwners copies the owner map of pool i of the current Sample generation into dst (one
// owner byte per NBL, as pool.CopyOwners) and returns how many it copied; 0 when there is no such
// pool.
func (s *Session) CopyOwners(gen uint64, i int, dst []byte) int {
	v := s.view.Load()
	if v.gen != gen || i < 0 || i >= len(v.pools) {
		return 0
	}
	return v.pools[i].p.CopyOwners(dst)
}

// Pools describes the pools of generation gen (the card headers): nil when the generation is
// gone.
func (s *Session) Pools(gen uint64) []ndis.PoolView {
	v := s.view.Load()
	if v.gen != gen {
		return nil
	}
	out := make([]ndis.PoolView, len(v.pools))
	for i, r := range v.pools {
		out[i] = r.v
	}
	return out
}
