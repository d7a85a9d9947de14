package web

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// leaderboardShown is how many contributors and teams the page lists.
const leaderboardShown = 100

// leaderboardPage ranks contributors and teams by recent average credit.
// Only contributors who opted in are named.
type leaderboardPage struct {
	Contributors     []standingRow
	MoreContributors bool
	Teams            []teamRow
	MoreTeams        bool
	Me               standingRow // the signed-in contributor as others see them
	Shown            int
}

type standingRow struct {
	Rank  int
	Name  string // the display name, or "Anonymous"
	Team  string
	Total float64
	RAC   float64
	Me    bool
}

type teamRow struct {
	store.Team
	Rank int
	Mine bool
}

func (s *server) handleLeaderboard() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		me := contributorOf(r)
		ctx := r.Context()
		board, moreC, err := s.svc.Leaderboard(ctx, 0, leaderboardShown)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		teams, moreT, err := s.svc.Teams(ctx, 0, leaderboardShown)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		credit, err := s.svc.ContributorCredit(ctx, me.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		teamNames := make(map[int64]string, len(teams))
		page := leaderboardPage{MoreContributors: moreC, MoreTeams: moreT, Shown: leaderboardShown,
			Me: standingRow{Name: publicName(me.DisplayName, me.LeaderboardOptIn)}}
		for i, t := range teams {
			teamNames[t.ID] = t.Name
			page.Teams = append(page.Teams, teamRow{Team: t, Rank: i + 1, Mine: t.ID == credit.TeamID && t.ID != 0})
		}
		for i, c := range board {
			page.Contributors = append(page.Contributors, standingRow{Rank: i + 1, Name: publicName(c.PublicName, c.PublicName != ""),
				Team: teamNames[c.TeamID], Total: c.Total, RAC: c.RAC, Me: c.ContributorID == me.ID})
		}
		s.render(w, r, http.StatusOK, "leaderboard", view{Title: "Leaderboard", Nav: "leaderboard", Data: page})
	}
}

// publicName is how a contributor appears to others: by display name only
// if they opted in.
func publicName(displayName string, optIn bool) string {
	if !optIn || displayName == "" {
		return "Anonymous"
	}
	return displayName
}
