package httpapi

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/workunits"
)

// apiShapes pairs each schema in the spec with the Go type of
// coordinator/api whose JSON it describes. A new type in coordinator/api
// gets a row here, naming its schema.
var apiShapes = map[string]any{
	"Error":                    api.ErrorResponse{},
	"ErrorBody":                api.ErrorBody{},
	"Project":                  api.Project{},
	"ProjectList":              api.ProjectList{},
	"ProjectAdmin":             api.ProjectAdmin{},
	"CreateProjectRequest":     api.CreateProjectRequest{},
	"UpdateProjectRequest":     api.UpdateProjectRequest{},
	"SigningKeyRequest":        api.SigningKeyRequest{},
	"FundRequest":              api.FundRequest{},
	"FundResponse":             api.FundResponse{},
	"CreateAPIKeyRequest":      api.CreateAPIKeyRequest{},
	"APIKey":                   api.APIKey{},
	"APIKeyList":               api.APIKeyList{},
	"CreateMemberRequest":      api.CreateMemberRequest{},
	"Member":                   api.Member{},
	"MemberList":               api.MemberList{},
	"App":                      api.App{},
	"AppVersion":               api.AppVersion{},
	"Validator":                api.Validator{},
	"Blob":                     api.Blob{},
	"BlobList":                 api.BlobList{},
	"Chunks":                   api.Chunks{},
	"InputRef":                 api.InputRef{},
	"SweepParam":               workunits.SweepParam{},
	"Policy":                   api.Policy{},
	"WebhookConfig":            api.WebhookConfig{},
	"WebhookStatus":            api.WebhookStatus{},
	"WebhookEvent":             api.WebhookEvent{},
	"SubmitJobRequest":         api.SubmitJobRequest{},
	"Job":                      api.Job{},
	"JobPage":                  api.JobPage{},
	"Progress":                 api.Progress{},
	"TaskError":                api.TaskError{},
	"UnitSummary":              api.UnitSummary{},
	"UnitPage":                 api.UnitPage{},
	"Unit":                     api.Unit{},
	"UnitTask":                 api.UnitTask{},
	"Result":                   api.Result{},
	"RefusedCredit":            api.RefusedCredit{},
	"LedgerAudit":              api.LedgerAudit{},
	"CreateContributorRequest": api.CreateContributorRequest{},
	"Contributor":              api.Contributor{},
	"RegisterHostRequest":      api.RegisterHostRequest{},
	"CreateTeamRequest":        api.CreateTeamRequest{},
	"Team":                     api.Team{},
	"TeamDetail":               api.TeamDetail{},
	"TeamPage":                 api.TeamPage{},
	"ContributorCredit":        api.ContributorCredit{},
	"Leaderboard":              api.Leaderboard{},
	"Host":                     api.Host{},
	"Earnings":                 api.Earnings{},
	"HostEarnings":             api.HostEarnings{},
	"WorkRequest":              api.WorkRequest{},
	"WorkResponse":             api.WorkResponse{},
	"Task":                     api.Task{},
	"ReportRequest":            api.ReportRequest{},
	"Report":                   api.Report{},
	"ReportResponse":           api.ReportResponse{},
	"HostStanding":             api.HostStanding{},
	"AppVersionTrust":          api.AppVersionTrust{},
	"ClawbackRequest":          api.ClawbackRequest{},
	"Clawback":                 api.Clawback{},
	"ClawbackList":             api.ClawbackList{},
	"CreatePayoutRunRequest":   api.CreatePayoutRunRequest{},
	"PayoutRun":                api.PayoutRun{},
	"PayoutRunList":            api.PayoutRunList{},
	"PayoutLine":               api.PayoutLine{},
	"PayoutImportResult":       api.PayoutImportResult{},
	"ContributorPayouts":       api.ContributorPayouts{},
	"Spend":                    api.Spend{},
	"JobSpend":                 api.JobSpend{},
	"ProjectSpend":             api.ProjectSpend{},
	"HostContactRequest":       api.HostContactRequest{},
	"HostContactResponse":      api.HostContactResponse{},
	"WebPreferences":           workunits.WebPreferences{},
	"ContributorPreferences":   api.ContributorPreferences{},
	"PutPayoutSettingsRequest": api.PutPayoutSettingsRequest{},
	"PayoutSettings":           api.PayoutSettings{},
}

// requestShapes are the schemas of request bodies (and their parts). What
// they require is what a client must send, which the JSON tags do not say;
// every other schema is a response, and requires exactly the fields its
// type always encodes (those without omitempty).
var requestShapes = []string{
	"CreateProjectRequest", "ProjectAdmin", "UpdateProjectRequest", "SigningKeyRequest", "FundRequest",
	"CreateAPIKeyRequest", "CreateMemberRequest", "Chunks", "SweepParam", "WebhookConfig", "SubmitJobRequest",
	"CreateContributorRequest", "RegisterHostRequest", "WorkRequest", "ReportRequest", "Report",
	"CreatePayoutRunRequest",
	"HostContactRequest", "WebPreferences",
	"PutPayoutSettingsRequest",
}

// TestOpenAPIShapes fails on every JSON field a coordinator/api type has
// that its schema lacks, every schema property the type lacks, and, for a
// response, every difference between the fields the type always encodes
// and those the schema requires.
func TestOpenAPIShapes(t *testing.T) {
	doc := loadSpec(t, specFile)
	names := make([]string, 0, len(apiShapes))
	for name := range apiShapes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("schema %s (for %T) is not in %s", name, apiShapes[name], specFile)
			continue
		}
		typ := reflect.TypeOf(apiShapes[name])
		fields := jsonFields(typ)
		props := schemaProperties(ref.Value)
		if notInSpec := missingFrom(fields, props); len(notInSpec) > 0 {
			t.Errorf("%T has fields schema %s lacks: %s", apiShapes[name], name, strings.Join(notInSpec, ", "))
		}
		if notInGo := missingFrom(props, fields); len(notInGo) > 0 {
			t.Errorf("schema %s has properties %T lacks: %s", name, apiShapes[name], strings.Join(notInGo, ", "))
		}
		required := schemaRequired(ref.Value)
		if notField := missingFrom(required, fields); len(notField) > 0 {
			t.Errorf("schema %s requires properties %T lacks: %s", name, apiShapes[name], strings.Join(notField, ", "))
		}
		if slices.Contains(requestShapes, name) {
			continue
		}
		always := alwaysEncoded(typ)
		if notRequired := missingFrom(always, required); len(notRequired) > 0 {
			t.Errorf("%T always encodes %s, which schema %s does not require", apiShapes[name], strings.Join(notRequired, ", "), name)
		}
		if omitted := missingFrom(required, always); len(omitted) > 0 {
			t.Errorf("schema %s requires %s, which %T leaves out when empty (omitempty)", name, strings.Join(omitted, ", "), apiShapes[name])
		}
	}
	for _, name := range requestShapes {
		if _, ok := apiShapes[name]; !ok {
			t.Errorf("requestShapes names %s, which apiShapes lacks", name)
		}
	}
}

// missingFrom lists the names in want that have is lacks.
func missingFrom(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// jsonFields lists the JSON names of a struct's encoded fields, sorted.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// schemaProperties lists a schema's property names, with those of its
// allOf parts, sorted.
func schemaProperties(s *openapi3.Schema) []string {
	var names []string
	for name := range s.Properties {
		names = append(names, name)
	}
	for _, part := range s.AllOf {
		if part.Value != nil {
			names = append(names, schemaProperties(part.Value)...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// alwaysEncoded lists, sorted, the JSON names of a struct's encoded fields
// that are not omitempty: those every encoding of it holds.
func alwaysEncoded(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "omitempty") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// schemaRequired lists a schema's required properties, with those of its
// allOf parts, sorted.
func schemaRequired(s *openapi3.Schema) []string {
	names := slices.Clone(s.Required)
	for _, part := range s.AllOf {
		if part.Value != nil {
			names = append(names, schemaRequired(part.Value)...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestJSONFields(t *testing.T) {
	type shape struct {
		A      int `json:"a"`
		B      int `json:"b,omitempty"`
		Hidden int `json:"-"`
		Plain  int
		low    int
	}
	_ = shape{}.low
	if got, want := jsonFields(reflect.TypeOf(shape{})), []string{"Plain", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("jsonFields = %q, want %q", got, want)
	}
	if got, want := alwaysEncoded(reflect.TypeOf(shape{})), []string{"Plain", "a"}; !slices.Equal(got, want) {
		t.Fatalf("alwaysEncoded = %q, want %q", got, want)
	}
}
