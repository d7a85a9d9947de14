package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
)

// limitAnonymous refuses, with a 429 page, a signed-out form post from a
// client address that has sent too many.
func (s *server) limitAnonymous(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.anonymous.Allow(ratelimit.AddrKey(s.clientIP(r)))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := int(wait.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.render(w, r, http.StatusTooManyRequests, "error", view{Title: "Too many attempts",
			Error: fmt.Sprintf("Too many sign-ups or sign-ins from your address. Please wait %s and try again.", waitText(wait))})
	})
}

// waitText says a wait of at least a second in the largest whole unit.
func waitText(d time.Duration) string {
	if d >= time.Minute {
		m := int((d + time.Minute - 1) / time.Minute)
		return fmt.Sprintf("%d %s", m, plural(m, "minute", "minutes"))
	}
	s := max(int((d+time.Second-1)/time.Second), 1)
	return fmt.Sprintf("%d %s", s, plural(s, "second", "seconds"))
}

// formTooLarge answers a form over maxFormBody bytes.
func (s *server) formTooLarge(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusRequestEntityTooLarge, "error", view{Title: "Form too large",
		Error: fmt.Sprintf("This form sent more than %d KiB, which no form here needs. Go back and shorten what you entered.", maxFormBody>>10)})
}
