//go:build !js

package main

import "strings"

// notListed marks a coding that the Accept-Encoding field does not name.
// It is below every real weight, which run from 0 to 1000.
const notListed = -1

// acceptedCodings holds the weights an Accept-Encoding request field
// (RFC 9110 §12.5.3) gives to the codings this server can send, in
// thousandths: "q=0.5" is 500, "q=1" or no q at all is 1000.
type acceptedCodings struct {
	br, gzip, identity, any int
}

// parseAcceptEncoding reads every Accept-Encoding field of a request.
// Elements with a malformed weight are skipped, as if the client had not
// sent them; when a coding is named twice, the last weight counts.
func parseAcceptEncoding(fields []string) acceptedCodings {
	a := acceptedCodings{br: notListed, gzip: notListed, identity: notListed, any: notListed}
	for _, field := range fields {
		for element := range strings.SplitSeq(field, ",") {
			coding, params, _ := strings.Cut(element, ";")
			coding = strings.TrimSpace(coding)
			if coding == "" {
				continue
			}
			weight, ok := parseWeight(params)
			if !ok {
				continue
			}
			switch {
			case strings.EqualFold(coding, "br"):
				a.br = weight
			// RFC 9110 §8.4.1.3: x-gzip is to be read as gzip.
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				a.gzip = weight
			case strings.EqualFold(coding, "identity"):
				a.identity = weight
			case coding == "*":
				a.any = weight
			}
		}
	}
	return a
}

// parseWeight reads the parameters after a coding, such as " q=0.8".
// Parameters other than q are ignored; a q that is not a valid qvalue
// makes the whole element invalid.
func parseWeight(params string) (int, bool) {
	weight := 1000
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, ok := parseQValue(strings.TrimSpace(value))
		if !ok {
			return 0, false
		}
		weight = q
	}
	return weight, true
}

// parseQValue parses the RFC 9110 §12.4.2 grammar
//
//	qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//
// into thousandths.
func parseQValue(s string) (int, bool) {
	if s == "" || len(s) > len("0.000") || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return q, true
	}
	if s[1] != '.' {
		return 0, false
	}
	scale := 100
	for _, c := range []byte(s[2:]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// weight is the weight of a coding that was listed, or else the weight of
// "*", or else 0: a coding the client does not name is not acceptable.
func (a acceptedCodings) weight(listed int) int {
	if listed != notListed {
		return listed
	}
	if a.any != notListed {
		return a.any
	}
	return 0
}

// choose returns the content coding to send ("br", "gzip", or "" for the
// file as it is), given which precompressed variants exist.
//
// The coding with the highest weight wins; on equal weights br beats gzip
// (it is smaller) and both beat identity. Identity is always acceptable
// unless the field names it: it only wins by an explicit, strictly higher
// weight. When nothing is acceptable, not even identity, the file is sent
// as it is — RFC 9110 §12.5.3 lets a server disregard the field rather
// than answer 406, and a page that loads is more useful here.
//
// With no Accept-Encoding field at all RFC 9110 would allow any coding,
// but curl and scripts that send none expect plain bytes, so they get them:
// an absent field lists nothing, and nothing listed means identity.
func (a acceptedCodings) choose(haveBr, haveGzip bool) string {
	best, bestWeight := "", 0
	if w := a.weight(a.br); haveBr && w > bestWeight {
		best, bestWeight = "br", w
	}
	if w := a.weight(a.gzip); haveGzip && w > bestWeight {
		best, bestWeight = "gzip", w
	}
	if a.weight(a.identity) > bestWeight {
		return ""
	}
	return best
}
