package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
)

// dropProxy stands between the hosts and one coordinator and loses a share
// of the requests: half of them before forwarding (the coordinator never
// sees the request) and half after (the coordinator did the work, but the
// host's connection is cut before the answer). A request the coordinator
// cannot take, because it is dead or was killed mid-request, is cut the
// same way: the host sees what it would see on a real network.
type dropProxy struct {
	backend string // host:port of the coordinator
	rate    float64
	client  *http.Client

	droppedBefore atomic.Int64
	droppedAfter  atomic.Int64
	unreachable   atomic.Int64
	forwarded     atomic.Int64
}

func newDropProxy(backend string, rate float64) *dropProxy {
	return &dropProxy{backend: backend, rate: rate, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		// Never follow a redirect: the host's client does that.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (p *dropProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	roll := rand.Float64()
	if roll < p.rate/2 {
		_, _ = io.Copy(io.Discard, r.Body)
		p.droppedBefore.Add(1)
		cut(w)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.backend+r.URL.RequestURI(), r.Body)
	if err != nil {
		cut(w)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	resp, err := p.client.Do(out)
	if err != nil {
		p.unreachable.Add(1)
		cut(w)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		p.unreachable.Add(1)
		cut(w)
		return
	}
	if roll < p.rate {
		p.droppedAfter.Add(1)
		cut(w)
		return
	}
	p.forwarded.Add(1)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, bytes.NewReader(body))
}

// cut closes the client's connection without an answer.
func cut(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("chaos: the proxy's ResponseWriter cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, as a dropped link often looks
	}
	_ = conn.Close()
}
