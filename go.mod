module webminiport

go 1.24

require (
	github.com/google/gopacket v1.1.19
	github.com/hack-pad/safejs v0.1.1
	honnef.co/go/js/dom/v2 v2.0.0-20250304181735-b5e52f05e89d
)

require (
	golang.org/x/net v0.0.0-20190620200207-3b0461eec859 // indirect
	golang.org/x/sys v0.4.0 // indirect
)
