package ndis

import "fmt"

// Status is an NDIS_STATUS code. The values come from public copies of ndis.h (specs/ndis.md §2.8,
// cross-checked in several headers); the names are Go spellings of the NDIS_STATUS_* names.
type Status uint32

// NDIS status codes used by the framework.
const (
	StatusSuccess           Status = 0x00000000 // NDIS_STATUS_SUCCESS
	StatusPending           Status = 0x00000103 // NDIS_STATUS_PENDING: the call finishes later through a *Complete call
	StatusNotAccepted       Status = 0x00010003 // NDIS_STATUS_NOT_ACCEPTED (initialize may return it)
	StatusLinkState         Status = 0x40010017 // NDIS_STATUS_LINK_STATE: the status indication code for link changes
	StatusFailure           Status = 0xC0000001 // NDIS_STATUS_FAILURE
	StatusResources         Status = 0xC000009A // NDIS_STATUS_RESOURCES
	StatusNotSupported      Status = 0xC00000BB // NDIS_STATUS_NOT_SUPPORTED
	StatusMediaDisconnected Status = 0xC000020C // NDIS_STATUS_MEDIA_DISCONNECTED
	StatusMulticastFull     Status = 0xC0010009 // NDIS_STATUS_MULTICAST_FULL
	StatusSendAborted       Status = 0xC001000C // NDIS_STATUS_SEND_ABORTED (a send cancelled by MiniportCancelSend)
	StatusResetInProgress   Status = 0xC001000D // NDIS_STATUS_RESET_IN_PROGRESS
	StatusInvalidLength     Status = 0xC0010014 // NDIS_STATUS_INVALID_LENGTH
	StatusInvalidData       Status = 0xC0010015 // NDIS_STATUS_INVALID_DATA
	StatusBufferTooShort    Status = 0xC0010016 // NDIS_STATUS_BUFFER_TOO_SHORT (query buffer smaller than the answer)
	StatusPaused            Status = 0xC023002A // NDIS_STATUS_PAUSED
	StatusLowPowerState     Status = 0xC023002F // NDIS_STATUS_LOW_POWER_STATE
)

// statusUnset is what the adapter writes into a send NBL's Status before handing it to the
// miniport. It is no NDIS status, so a completion that never set Status is caught (BAD_STATUS).
const statusUnset Status = 0xFFFFFFFF

var statusNames = map[Status]string{
	StatusSuccess:           "NDIS_STATUS_SUCCESS",
	StatusPending:           "NDIS_STATUS_PENDING",
	StatusNotAccepted:       "NDIS_STATUS_NOT_ACCEPTED",
	StatusLinkState:         "NDIS_STATUS_LINK_STATE",
	StatusFailure:           "NDIS_STATUS_FAILURE",
	StatusResources:         "NDIS_STATUS_RESOURCES",
	StatusNotSupported:      "NDIS_STATUS_NOT_SUPPORTED",
	StatusMediaDisconnected: "NDIS_STATUS_MEDIA_DISCONNECTED",
	StatusMulticastFull:     "NDIS_STATUS_MULTICAST_FULL",
	StatusSendAborted:       "NDIS_STATUS_SEND_ABORTED",
	StatusResetInProgress:   "NDIS_STATUS_RESET_IN_PROGRESS",
	StatusInvalidLength:     "NDIS_STATUS_INVALID_LENGTH",
	StatusInvalidData:       "NDIS_STATUS_INVALID_DATA",
	StatusBufferTooShort:    "NDIS_STATUS_BUFFER_TOO_SHORT",
	StatusPaused:            "NDIS_STATUS_PAUSED",
	StatusLowPowerState:     "NDIS_STATUS_LOW_POWER_STATE",
	statusUnset:             "(unset)",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("NDIS_STATUS(%#08x)", uint32(s))
}

// validSendStatus reports whether s is a status a miniport may complete a send with: the list of
// NdisMSendNetBufferListsComplete (specs/ndis.md §4) plus LOW_POWER_STATE, which netvmini uses.
func validSendStatus(s Status) bool {
	switch s {
	case StatusSuccess, StatusInvalidLength, StatusResources, StatusPaused, StatusSendAborted,
		StatusResetInProgress, StatusFailure, StatusLowPowerState:
		return true
	}
	return false
}
