package api

import "time"

// Credit is BOINC's Cobblestone (payouts/credit.go): work done, not money.
// RAC is recent average credit, in credit per day, decaying with a 7-day
// half-life.

type CreateTeamRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type Team struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedBy   int64     `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	Members     int       `json:"members"`
	TotalCredit float64   `json:"total_credit"`
	RAC         float64   `json:"rac"`
}

// TeamDetail is a team with its members, highest RAC first.
type TeamDetail struct {
	Team    Team                `json:"team"`
	Members []ContributorCredit `json:"members"`
}

type TeamPage struct {
	Teams      []Team `json:"teams"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ContributorCredit is one contributor on a leaderboard or in a team.
type ContributorCredit struct {
	ContributorID int64 `json:"contributor_id"`
	// Name is the display name of a contributor who chose to appear on
	// the leaderboard; "" (and Anonymous true) for any other.
	Name        string  `json:"name"`
	Anonymous   bool    `json:"anonymous,omitempty"`
	TeamID      int64   `json:"team_id,omitempty"`
	TotalCredit float64 `json:"total_credit"`
	RAC         float64 `json:"rac"`
}

type Leaderboard struct {
	Contributors []ContributorCredit `json:"contributors"`
	NextCursor   string              `json:"next_cursor,omitempty"`
}
