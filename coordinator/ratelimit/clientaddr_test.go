package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseProxies(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, false},
		{" 10.1.2.3/8 , 172.18.0.5,::1", []string{"10.0.0.0/8", "172.18.0.5/32", "::1/128"}, false},
		{"fd00::/8", []string{"fd00::/8"}, false},
		{"proxy.local", nil, true},
		{"10.0.0.0/33", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseProxies(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseProxies(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		var gotS []string
		for _, p := range got {
			gotS = append(gotS, p.String())
		}
		if len(gotS) != len(tt.want) {
			t.Errorf("ParseProxies(%q) = %v, want %v", tt.in, gotS, tt.want)
			continue
		}
		for i := range gotS {
			if gotS[i] != tt.want[i] {
				t.Errorf("ParseProxies(%q) = %v, want %v", tt.in, gotS, tt.want)
			}
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted bool // the trusted list above, or none
		peer    string
		xff     []string
		want    string
	}{
		{"no proxy configured: the peer", false, "203.0.113.7:5000", []string{"1.2.3.4"}, "203.0.113.7"},
		{"spoofed header from an untrusted peer is ignored", true, "203.0.113.7:5000", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted proxy: the entry it appended", true, "10.0.0.2:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"a client's own entries left of the proxy's are ignored", true, "10.0.0.2:5000", []string{"1.2.3.4, 5.6.7.8, 203.0.113.7"}, "203.0.113.7"},
		{"chained trusted proxies are skipped", true, "10.0.0.2:5000", []string{"1.2.3.4, 203.0.113.7, 192.168.1.1, 10.9.9.9"}, "203.0.113.7"},
		{"repeated headers read as one list", true, "10.0.0.2:5000", []string{"1.2.3.4", "203.0.113.7"}, "203.0.113.7"},
		{"trusted proxy without the header: the proxy", true, "10.0.0.2:5000", nil, "10.0.0.2"},
		{"every hop trusted: the left-most", true, "10.0.0.2:5000", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{"garbage from the proxy: the last good hop", true, "10.0.0.2:5000", []string{"1.2.3.4, nonsense"}, "10.0.0.2"},
		{"garbage left of the client is never reached", true, "10.0.0.2:5000", []string{"nonsense, 203.0.113.7"}, "203.0.113.7"},
		{"IPv6 peer", true, "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"IPv6 client behind a proxy", true, "10.0.0.2:5000", []string{"2001:db8::9"}, "2001:db8::9"},
		{"IPv4-mapped IPv6 peer is its IPv4", true, "[::ffff:10.0.0.2]:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"entry with a port", true, "10.0.0.2:5000", []string{"203.0.113.7:4711"}, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			f := ClientIP(nil)
			if tt.trusted {
				f = ClientIP(trusted)
			}
			if got := f(r); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddrKey(t *testing.T) {
	tests := map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"not an address":       "not an address",
	}
	for in, want := range tests {
		if got := AddrKey(in); got != want {
			t.Errorf("AddrKey(%q) = %q, want %q", in, got, want)
		}
	}
}
