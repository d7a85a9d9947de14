package workunits

import (
	"testing"
	"time"
)

func TestRoleAllows(t *testing.T) {
	tests := []struct {
		have, need Role
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleResearcher, true},
		{RoleAdmin, RoleViewer, true},
		{RoleResearcher, RoleAdmin, false},
		{RoleResearcher, RoleResearcher, true},
		{RoleResearcher, RoleViewer, true},
		{RoleViewer, RoleAdmin, false},
		{RoleViewer, RoleResearcher, false},
		{RoleViewer, RoleViewer, true},
		{"", RoleViewer, false},
		{"owner", RoleViewer, false},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"admin", "researcher", "viewer"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Admin", "owner", " viewer"} {
		if _, err := ParseRole(s); ErrorCode(err) != EINVALID {
			t.Errorf("ParseRole(%q) error = %v, want %s", s, err, EINVALID)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ada@example.org", "ada@example.org", true},
		{"  ada@example.org ", "ada@example.org", true},
		{"a.b+c@lab.example.ac.uk", "a.b+c@lab.example.ac.uk", true},
		{"", "", false},
		{"ada", "", false},
		{"ada@localhost", "", false},
		{"Ada <ada@example.org>", "", false},
		{"ada@example.org, bob@example.org", "", false},
		{"@example.org", "", false},
		{string(make([]byte, 300)) + "@example.org", "", false},
	}
	for _, tt := range tests {
		got, err := CheckEmail(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("CheckEmail(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("CheckEmail(%q) error code = %s, want %s", tt.in, ErrorCode(err), EINVALID)
		}
	}
}

func TestCheckKeyRole(t *testing.T) {
	researcher := Member{ID: 3, Role: RoleResearcher}
	tests := []struct {
		role string
		want Role
		ok   bool
	}{
		{"", RoleResearcher, true},
		{"researcher", RoleResearcher, true},
		{"viewer", RoleViewer, true},
		{"admin", "", false},
		{"boss", "", false},
	}
	for _, tt := range tests {
		got, err := CheckKeyRole(researcher, tt.role)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("CheckKeyRole(researcher, %q) = %q, %v; want %q, ok %v", tt.role, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheckMemberRemovable(t *testing.T) {
	admin := Member{ID: 1, Role: RoleAdmin}
	viewer := Member{ID: 2, Role: RoleViewer}
	tests := []struct {
		name                                      string
		m                                         Member
		otherAdmins, ownAdminKeys, otherAdminKeys int
		want                                      Code
	}{
		{"viewer", viewer, 0, 0, 0, ""},
		{"admin with another admin holding a key", admin, 1, 1, 1, ""},
		{"last admin", admin, 0, 1, 0, ECONFLICT},
		{"last admin without keys", admin, 0, 0, 0, ECONFLICT},
		{"holder of the last admin key", admin, 1, 2, 0, ECONFLICT},
		{"admin without keys beside an admin with one", admin, 1, 0, 1, ""},
	}
	for _, tt := range tests {
		if got := ErrorCode(CheckMemberRemovable(tt.m, tt.otherAdmins, tt.ownAdminKeys, tt.otherAdminKeys)); got != tt.want {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckKeyRevocable(t *testing.T) {
	tests := []struct {
		name  string
		k     APIKey
		other int
		want  Code
	}{
		{"viewer key", APIKey{Role: RoleViewer}, 0, ""},
		{"researcher key", APIKey{Role: RoleResearcher}, 0, ""},
		{"admin key beside another", APIKey{Role: RoleAdmin}, 1, ""},
		{"last admin key", APIKey{Role: RoleAdmin}, 0, ECONFLICT},
	}
	for _, tt := range tests {
		if got := ErrorCode(CheckKeyRevocable(tt.k, tt.other)); got != tt.want {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckKeyInsert(t *testing.T) {
	researcher := Member{ID: 1, Role: RoleResearcher}
	removed := Member{ID: 2, Role: RoleAdmin, RemovedAt: time.Unix(1, 0)}
	tests := []struct {
		name string
		m    Member
		role Role
		want Code
	}{
		{"own role", researcher, RoleResearcher, ""},
		{"lower role", researcher, RoleViewer, ""},
		{"higher role", researcher, RoleAdmin, EINVALID},
		{"unknown role", researcher, "root", EINVALID},
		{"removed member", removed, RoleViewer, ECONFLICT},
	}
	for _, tt := range tests {
		if got := ErrorCode(CheckKeyInsert(tt.m, tt.role)); got != tt.want {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.want)
		}
	}
}
