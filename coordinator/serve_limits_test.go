package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
)

// serve's rate-limit flags become the API's options: the switch, the
// rates, and the trusted proxies behind the client address.
func TestServeLimitFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  string
		wantAnon ratelimit.Rate
		wantIP   string // ClientIP of a request from 10.0.0.2 forwarding for 203.0.113.7
	}{
		{"defaults", nil, nil, "", defaultLimits.Anonymous, "10.0.0.2"},
		{"off", []string{"--rate-limit=off"}, nil, "", ratelimit.Rate{}, "10.0.0.2"},
		{"off from the environment", nil, map[string]string{"NIGHTSHIFT_RATE_LIMIT": "off"}, "", ratelimit.Rate{}, "10.0.0.2"},
		{"a rate", []string{"--rate-limit-anonymous", "5/10m"}, nil, "", ratelimit.Rate{Events: 5, Per: 10 * time.Minute}, "10.0.0.2"},
		{"trusted proxy", nil, map[string]string{"NIGHTSHIFT_TRUSTED_PROXIES": "10.0.0.0/8"}, "", defaultLimits.Anonymous, "203.0.113.7"},
		{"bad switch", []string{"--rate-limit=maybe"}, nil, "--rate-limit", ratelimit.Rate{}, ""},
		{"bad rate", []string{"--rate-limit-per-credential=lots"}, nil, "rate", ratelimit.Rate{}, ""},
		{"bad proxy", []string{"--trusted-proxies=nginx"}, nil, "--trusted-proxies", ratelimit.Rate{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, o := serveFlags(io.Discard)
			err := parseFlags(fs, tt.args, func(k string) string { return tt.env[k] })
			if err == nil {
				apiOpts, aerr := o.apiOptions()
				err = aerr
				if err == nil {
					if apiOpts.Limits.Anonymous != tt.wantAnon {
						t.Errorf("anonymous limit = %v, want %v", apiOpts.Limits.Anonymous, tt.wantAnon)
					}
					r := httptest.NewRequest("GET", "/", nil)
					r.RemoteAddr = "10.0.0.2:4000"
					r.Header.Set("X-Forwarded-For", "203.0.113.7")
					if got := apiOpts.ClientIP(r); got != tt.wantIP {
						t.Errorf("client address = %q, want %q", got, tt.wantIP)
					}
				}
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
