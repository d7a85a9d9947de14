package httpapi

import (
	"net/http"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/store"
)

func teamJSON(t store.Team) api.Team {
	return api.Team{ID: t.ID, Name: t.Name, Description: t.Description, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
		Members: t.Members, TotalCredit: t.Total, RAC: t.RAC}
}

func standingsJSON(s []store.CreditStanding) []api.ContributorCredit {
	out := make([]api.ContributorCredit, len(s))
	for i, c := range s {
		// Only a contributor who opted in is named; the account's own name
		// is never shown.
		out[i] = api.ContributorCredit{ContributorID: c.ContributorID, Name: c.PublicName, Anonymous: c.PublicName == "",
			TeamID: c.TeamID, TotalCredit: c.Total, RAC: c.RAC}
	}
	return out
}

// rankPage reads ?limit= and ?cursor= of a listing ranked by RAC. Ranks
// shift as RAC decays, so its cursor holds how many were shown before, not
// the last item.
func rankPage(r *http.Request, kind string) (offset, limit int, err error) {
	if limit, err = queryLimit(r); err != nil {
		return 0, 0, err
	}
	if raw := r.URL.Query().Get("cursor"); raw != "" {
		pos, err := decodeCursor(raw, cursor{Kind: kind}, 1)
		if err != nil {
			return 0, 0, err
		}
		offset = int(min(pos, 1<<31-1))
	}
	return offset, limit, nil
}

func (s *server) handleTeamCreate() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateTeamRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		t, err := s.svc.CreateTeam(r.Context(), contributorOf(r).ID, req.Name, req.Description)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, teamJSON(t))
	}
}

func (s *server) handleTeamJoin() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "teamID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		if err := s.svc.JoinTeam(r.Context(), contributorOf(r).ID, id); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *server) handleTeamLeave() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.svc.LeaveTeam(r.Context(), contributorOf(r).ID); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *server) handleTeamGet() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "teamID")
		if err != nil {
			s.error(w, r, err)
			return
		}
		t, members, err := s.svc.Team(r.Context(), id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.TeamDetail{Team: teamJSON(t), Members: standingsJSON(members)})
	}
}

// handleTeamList lists teams by RAC, highest first.
func (s *server) handleTeamList() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		offset, limit, err := rankPage(r, "teams")
		if err != nil {
			s.error(w, r, err)
			return
		}
		teams, more, err := s.svc.Teams(r.Context(), offset, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.TeamPage{Teams: make([]api.Team, len(teams))}
		for i, t := range teams {
			out.Teams[i] = teamJSON(t)
		}
		if more {
			out.NextCursor = cursor{Kind: "teams", Pos: int64(offset + len(teams))}.encode()
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// handleLeaderboard lists contributors that earned credit by RAC.
func (s *server) handleLeaderboard() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		offset, limit, err := rankPage(r, "leaderboard")
		if err != nil {
			s.error(w, r, err)
			return
		}
		board, more, err := s.svc.Leaderboard(r.Context(), offset, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := api.Leaderboard{Contributors: standingsJSON(board)}
		if more {
			out.NextCursor = cursor{Kind: "leaderboard", Pos: int64(offset + len(board))}.encode()
		}
		writeJSON(w, http.StatusOK, out)
	}
}
