package usbnic

// RxTransferForTest runs the bytes of one completed bulk-IN transfer through the receive path
// (rx fixup, copy into NBLs, indication) on the caller's goroutine, as the RX slot holding the
// completion turn does. The benchmarks use it with prebuilt transfers and no RX session running.
func (n *NIC) RxTransferForTest(data []byte) { n.rxTransfer(data) }
