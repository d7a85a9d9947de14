package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
)

// specFile is the OpenAPI document of the whole public API.
const specFile = "../api/openapi.yaml"

// TestOpenAPIMatchesRouter fails on every route the router serves that the
// spec does not describe, and on every operation the spec describes that the
// router does not serve.
func TestOpenAPIMatchesRouter(t *testing.T) {
	doc := loadSpec(t, specFile)
	routed := routedOps(t, NewServer(nil, slog.New(slog.DiscardHandler)))
	missing, unrouted := compareOps(specOps(doc), routed)
	if len(missing) > 0 {
		t.Errorf("%d routes are served but not in %s:\n\t%s", len(missing), specFile, strings.Join(missing, "\n\t"))
	}
	if len(unrouted) > 0 {
		t.Errorf("%d operations in %s are not routed:\n\t%s", len(unrouted), specFile, strings.Join(unrouted, "\n\t"))
	}
}

// TestOpenAPIDocument checks the spec is a valid OpenAPI 3.0 document that
// keeps the API's own rules.
func TestOpenAPIDocument(t *testing.T) {
	data, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range specProblems(data) {
		t.Error(p)
	}
}

// TestSpecProblems shows specProblems catches what it claims to.
func TestSpecProblems(t *testing.T) {
	const head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
	const errorSchema = `
components:
  schemas:
    Error:
      type: object
      properties:
        error:
          type: object
          properties: {code: {type: string}, message: {type: string}}
`
	tests := []struct {
		name string
		doc  string
		want string // a problem containing this; "" for none
	}{
		{"fine", head + `
paths:
  /a:
    get:
      responses:
        "200": {description: ok}
        "404":
          description: no
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
` + errorSchema, ""},
		{"no responses", head + `
paths:
  /a:
    get:
      responses: {}
` + errorSchema, "GET /a has no responses"},
		{"dangling ref", head + `
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Nope"}
` + errorSchema, "loading"},
		{"error without the error body", head + `
paths:
  /a:
    get:
      responses:
        "200": {description: ok}
        "400":
          description: bad
          content:
            text/plain:
              schema: {type: string}
` + errorSchema, "GET /a response 400 is not the error body"},
		{"undeclared path parameter", head + `
paths:
  /a/{id}:
    get:
      responses:
        "200": {description: ok}
` + errorSchema, "validating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := specProblems([]byte(tt.doc))
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("problems in a good document: %q", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Fatalf("problems %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// TestCompareOps shows the comparison ignores parameter names and reports
// both directions.
func TestCompareOps(t *testing.T) {
	spec := []string{"GET /jobs/{jobID}", "POST /jobs", "DELETE /keys/{keyID}"}
	routed := []string{"GET /jobs/{id}", "POST /jobs", "GET /jobs"}
	missing, unrouted := compareOps(spec, routed)
	if want := []string{"GET /jobs"}; !slices.Equal(missing, want) {
		t.Errorf("missing = %q, want %q", missing, want)
	}
	if want := []string{"DELETE /keys/{keyID}"}; !slices.Equal(unrouted, want) {
		t.Errorf("unrouted = %q, want %q", unrouted, want)
	}
}

// specProblems lists what is wrong with an OpenAPI document: it does not
// load (a $ref that does not resolve, say), it is not valid OpenAPI 3.0, an
// operation has no responses, or a 4xx/5xx response is not the error body.
func specProblems(data []byte) []string {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return []string{fmt.Sprintf("loading the spec: %v", err)}
	}
	var problems []string
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		problems = append(problems, fmt.Sprintf("validating the spec: %v", err))
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses == nil || op.Responses.Len() == 0 {
				problems = append(problems, fmt.Sprintf("%s %s has no responses", method, path))
				continue
			}
			for status, resp := range op.Responses.Map() {
				if !strings.HasPrefix(status, "4") && !strings.HasPrefix(status, "5") {
					continue
				}
				if !isErrorBody(resp) {
					problems = append(problems, fmt.Sprintf("%s %s response %s is not the error body", method, path, status))
				}
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// isErrorBody reports whether a response is JSON {"error":{"code","message"}}.
func isErrorBody(resp *openapi3.ResponseRef) bool {
	if resp == nil || resp.Value == nil {
		return false
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return false
	}
	errProp := mt.Schema.Value.Properties["error"]
	if errProp == nil || errProp.Value == nil {
		return false
	}
	props := errProp.Value.Properties
	return props["code"] != nil && props["message"] != nil
}

func loadSpec(t *testing.T, file string) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromFile(file)
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	return doc
}

// specOps lists the spec's operations as "METHOD /path".
func specOps(doc *openapi3.T) []string {
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	return ops
}

// routedOps lists the JSON API routes h serves as "METHOD /path", walking
// its chi tree: /healthz and everything under /api/. The dashboard's HTML
// pages (coordinator/web, mounted at /) are not part of the API.
func routedOps(t *testing.T, h http.Handler) []string {
	t.Helper()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("the server's handler is a %T, not a chi router", h)
	}
	var ops []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		if route != "/healthz" && !strings.HasPrefix(route, "/api/") {
			return nil
		}
		ops = append(ops, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatalf("walking the router: %v", err)
	}
	return ops
}

// pathParam matches an OpenAPI {name} or a chi {name} / {name:regexp}.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// compareOps returns, sorted, the routed operations the spec lacks and the
// spec's operations nothing routes. Path parameters match whatever their
// names, so the spec's {jobID} is the router's {jobID} or {id}.
func compareOps(spec, routed []string) (missing, unrouted []string) {
	key := func(op string) string { return pathParam.ReplaceAllString(op, "{}") }
	inSpec := make(map[string]bool, len(spec))
	for _, op := range spec {
		inSpec[key(op)] = true
	}
	isRouted := make(map[string]bool, len(routed))
	for _, op := range routed {
		isRouted[key(op)] = true
		if !inSpec[key(op)] {
			missing = append(missing, op)
		}
	}
	for _, op := range spec {
		if !isRouted[key(op)] {
			unrouted = append(unrouted, op)
		}
	}
	slices.Sort(missing)
	slices.Sort(unrouted)
	return slices.Compact(missing), slices.Compact(unrouted)
}
