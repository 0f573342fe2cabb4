package wire

import "time"

// Clock is the wire's source of time. Tests inject a manual clock to step paced traffic
// deterministically; New uses the system clock when Config.Clock is nil.
type Clock interface {
	Now() time.Time
	// AfterFunc arranges for f to run in its own goroutine once d has passed. It must not run
	// f before returning: the wire calls it with its lock held.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call, as *time.Timer implements it.
type Timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
