package wire

import (
	"fmt"
	"time"
)

// Frame is one frame of a capture.
type Frame struct {
	Time time.Time // when it was captured
	Data []byte    // the frame as captured, from the Ethernet header on
}

// Timing is how a capture is replayed.
type Timing uint8

// Replay timings.
const (
	AsFastAsPulled Timing = iota // each frame as soon as the host asks for one
	OriginalTiming               // each frame as long after the first as it was captured
)

// replay is the replay profile's progress through its capture.
type replay struct {
	frames []Frame
	pos    int
	timing Timing
	start  time.Time
}

// Replay starts handing frames to the host byte for byte and in order, after any replies
// waiting. The wire keeps frames until the next profile switch; the caller must not change
// them meanwhile. A frame longer than ToHost's buffer is dropped and counted in TooBig.
func (w *Wire) Replay(frames []Frame, timing Timing) error {
	if timing > OriginalTiming {
		return fmt.Errorf("wire: unknown replay timing %d", timing)
	}
	for i, f := range frames {
		if len(f.Data) == 0 { // ToHost could not tell it from "nothing waiting"
			return fmt.Errorf("wire: replay frame %d is empty", i)
		}
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.startProfile(ProfileReplay, 0, pacer{unpaced: true}) // timed by the capture, not a rate
	w.replay = replay{frames: frames, timing: timing, start: w.clock.Now()}
	w.mu.Unlock()
	w.signal()
	return nil
}

// replayFrame copies the next frame of the capture into buf if it is due, arming the timer for
// it otherwise. The caller holds w.mu.
func (w *Wire) replayFrame(buf []byte) (int, Kind) {
	r := &w.replay
	if r.pos == len(r.frames) {
		return 0, 0
	}
	f := r.frames[r.pos]
	if r.timing == OriginalTiming {
		// Frames stay in order even where capture times run backwards: an early time only
		// makes a frame due as soon as the one before it has gone.
		now := w.clock.Now()
		if wait := f.Time.Sub(r.frames[0].Time) - now.Sub(r.start); wait > 0 {
			w.armTimer(wait)
			return 0, 0
		}
	}
	r.pos++
	if len(f.Data) > len(buf) {
		w.stats.tooBig++
		return 0, 0
	}
	return copy(buf, f.Data), KindReplay
}
