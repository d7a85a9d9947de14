package httpapi

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

// apiShapes pairs each schema in the spec with the Go type of
// coordinator/api whose JSON it describes. A new type in coordinator/api
// gets a row here, naming its schema.
var apiShapes = map[string]any{
	"Error":                    api.ErrorResponse{},
	"Project":                  api.Project{},
	"CreateProjectRequest":     api.CreateProjectRequest{},
	"FundRequest":              api.FundRequest{},
	"FundResponse":             api.FundResponse{},
	"AppVersion":               api.AppVersion{},
	"Policy":                   api.Policy{},
	"SubmitJobRequest":         api.SubmitJobRequest{},
	"Job":                      api.Job{},
	"Progress":                 api.Progress{},
	"Result":                   api.Result{},
	"RefusedCredit":            api.RefusedCredit{},
	"LedgerAudit":              api.LedgerAudit{},
	"CreateContributorRequest": api.CreateContributorRequest{},
	"Contributor":              api.Contributor{},
	"RegisterHostRequest":      api.RegisterHostRequest{},
	"Host":                     api.Host{},
	"Earnings":                 api.Earnings{},
	"HostEarnings":             api.HostEarnings{},
	"WorkRequest":              api.WorkRequest{},
	"WorkResponse":             api.WorkResponse{},
	"Task":                     api.Task{},
	"ReportRequest":            api.ReportRequest{},
	"Report":                   api.Report{},
	"ReportResponse":           api.ReportResponse{},
}

// TestOpenAPIShapes fails on every JSON field a coordinator/api type has
// that its schema lacks, and every schema property the type lacks.
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
			t.Errorf("schema %s (for api.%T) is not in %s", name, apiShapes[name], specFile)
			continue
		}
		fields := jsonFields(reflect.TypeOf(apiShapes[name]))
		props := schemaProperties(ref.Value)
		var notInSpec, notInGo []string
		for _, f := range fields {
			if !slices.Contains(props, f) {
				notInSpec = append(notInSpec, f)
			}
		}
		for _, p := range props {
			if !slices.Contains(fields, p) {
				notInGo = append(notInGo, p)
			}
		}
		if len(notInSpec) > 0 {
			t.Errorf("%T has fields schema %s lacks: %s", apiShapes[name], name, strings.Join(notInSpec, ", "))
		}
		if len(notInGo) > 0 {
			t.Errorf("schema %s has properties %T lacks: %s", name, apiShapes[name], strings.Join(notInGo, ", "))
		}
	}
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
}
