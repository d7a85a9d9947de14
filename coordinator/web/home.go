package web

import (
	"net/http"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// homePage is the home page's data: the signed-in contributor's money,
// earnings by day, credit and rank.
type homePage struct {
	Earnings service.Earnings
	Credit   store.ContributorCredit
	History  service.EarningsHistory
	Chart    barChart
	Days     int // 30 or 90: the chart's span
	Rank     service.Rank
}

// chartDays are the spans the home page's chart offers.
var chartDays = map[string]int{"": 30, "30": 30, "90": 90}

func (s *server) handleHome() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := contributorOf(r).ID
		status, v := http.StatusOK, view{Title: "Home", Nav: "home"}
		days, ok := chartDays[r.URL.Query().Get("days")]
		if !ok {
			status, days = http.StatusBadRequest, 30
			v.Error = "The chart shows the last 30 or 90 days: days must be 30 or 90. Showing 30."
		}
		var p homePage
		var err error
		if p.Earnings, err = s.svc.ContributorEarnings(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
		if p.Credit, err = s.svc.ContributorCredit(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
		if p.History, err = s.svc.EarningsByDay(r.Context(), id, days, time.Now()); err != nil {
			s.fail(w, r, err)
			return
		}
		if p.Rank, err = s.svc.ContributorRank(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
		p.Days, p.Chart = days, newBarChart(p.History.Days)
		v.Data = p
		s.render(w, r, status, "home", v)
	}
}
