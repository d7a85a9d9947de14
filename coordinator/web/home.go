package web

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// homePage is the home page's data: the signed-in contributor's money and
// credit.
type homePage struct {
	Earnings service.Earnings
	Credit   store.ContributorCredit
}

func (s *server) handleHome() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := contributorOf(r).ID
		e, err := s.svc.ContributorEarnings(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		credit, err := s.svc.ContributorCredit(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "home", view{Title: "Home", Nav: "home", Data: homePage{Earnings: e, Credit: credit}})
	}
}
