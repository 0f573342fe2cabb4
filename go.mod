module webminiport

go 1.24

require (
	github.com/google/gopacket v1.1.19
	github.com/hack-pad/safejs v0.1.1
	honnef.co/go/js/dom/v2 v2.0.0-20250304181735-b5e52f05e89d
)
