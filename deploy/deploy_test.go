package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	yaml "github.com/oasdiff/yaml3"
)

// TestCompose checks compose.yaml's shape: PostgreSQL, a migration step
// that runs before two coordinators, and a proxy in front of them.
func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image     string         `yaml:"image"`
			Command   []string       `yaml:"command"`
			DependsOn any            `yaml:"depends_on"`
			Env       map[string]any `yaml:"environment"`
			Build     struct {
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	readYAML(t, "compose.yaml", &c)
	if !strings.HasPrefix(c.Services["postgres"].Image, "postgres:") {
		t.Errorf("no postgres service")
	}
	if m := c.Services["migrate"]; len(m.Command) == 0 || m.Command[0] != "migrate" {
		t.Errorf("the migrate service does not run coordinator migrate: %v", m.Command)
	}
	var coordinators []string
	for name, s := range c.Services {
		if s.Image == "nightshift-coordinator" && len(s.Command) > 0 && s.Command[0] == "serve" {
			coordinators = append(coordinators, name)
			if !strings.Contains(dump(s.DependsOn), "service_completed_successfully") {
				t.Errorf("%s does not wait for the migration", name)
			}
			if !strings.HasPrefix(dump(s.Env["NIGHTSHIFT_DB"]), "postgres://") {
				t.Errorf("%s is not on PostgreSQL: %v", name, s.Env["NIGHTSHIFT_DB"])
			}
			if _, err := os.Stat(filepath.Join("..", s.Build.Dockerfile)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if len(coordinators) < 2 {
		t.Errorf("want two coordinators, have %v", coordinators)
	}
	proxy := c.Services["proxy"]
	if proxy.Image == "" {
		t.Fatal("no proxy service")
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range coordinators {
		if !strings.Contains(string(conf), "server "+name+":8080") {
			t.Errorf("nginx.conf does not send requests to %s", name)
		}
	}
}

// TestKubernetes checks every manifest parses and that the coordinator
// runs as the issue asks: ≥ 2 replicas with probes, a disruption budget,
// the database URL from a Secret, and a migration Job.
func TestKubernetes(t *testing.T) {
	docs := map[string][]map[string]any{} // kind → documents
	files, _ := filepath.Glob("k8s/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in k8s/")
	}
	for _, f := range files {
		for _, d := range readYAMLDocs(t, f) {
			kind, _ := d["kind"].(string)
			if kind == "" || d["apiVersion"] == nil {
				t.Errorf("%s: a document without kind or apiVersion", f)
			}
			docs[kind] = append(docs[kind], d)
		}
	}
	var dep struct {
		Spec struct {
			Replicas int `yaml:"replicas"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					Grace      int         `yaml:"terminationGracePeriodSeconds"`
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	one(t, docs, "Deployment", &dep)
	if dep.Spec.Replicas < 2 {
		t.Errorf("the coordinator Deployment has %d replicas, want ≥ 2", dep.Spec.Replicas)
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the Deployment's selector %s=%s does not match its pods", k, v)
		}
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one coordinator container")
	}
	c := dep.Spec.Template.Spec.Containers[0]
	for name, p := range map[string]*probe{"readiness": c.Readiness, "liveness": c.Liveness} {
		if p == nil || p.HTTPGet.Path != "/healthz" {
			t.Errorf("the coordinator has no %s probe on /healthz", name)
		}
	}
	if !c.secretEnv("NIGHTSHIFT_DB") {
		t.Errorf("the coordinator does not take NIGHTSHIFT_DB from a Secret")
	}
	if timeout := flagValue(c.argv(), "--shutdown-timeout"); timeout != "" && dep.Spec.Template.Spec.Grace <= 30 {
		t.Errorf("terminationGracePeriodSeconds %d leaves no room for --shutdown-timeout %s", dep.Spec.Template.Spec.Grace, timeout)
	}

	var pdb struct {
		Spec struct {
			MinAvailable int `yaml:"minAvailable"`
			Selector     struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	one(t, docs, "PodDisruptionBudget", &pdb)
	if pdb.Spec.MinAvailable < 1 || !sameLabels(pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels) {
		t.Errorf("the PodDisruptionBudget does not keep a coordinator up: %+v", pdb.Spec)
	}
	var svc struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
		} `yaml:"spec"`
	}
	one(t, docs, "Service", &svc)
	if !sameLabels(svc.Spec.Selector, dep.Spec.Selector.MatchLabels) {
		t.Errorf("the Service does not select the coordinators")
	}
	var secret struct {
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
	}
	one(t, docs, "Secret", &secret)
	for _, e := range c.Env {
		if e.ValueFrom != nil && (e.ValueFrom.SecretKeyRef.Name != secret.Metadata.Name || secret.StringData[e.ValueFrom.SecretKeyRef.Key] == "") {
			t.Errorf("%s refers to a Secret key the manifests do not define", e.Name)
		}
	}
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	one(t, docs, "Job", &job)
	if cs := job.Spec.Template.Spec.Containers; len(cs) != 1 || !slicesHasPrefix(cs[0].argv(), "/nightshift-coordinator", "migrate") || !cs[0].secretEnv("NIGHTSHIFT_DB") {
		t.Errorf("the Job does not run coordinator migrate against the Secret's database: %+v", cs)
	}
}

// TestCommandsMatchFlags finds every coordinator and worker command in the
// runbook, the Dockerfiles, compose, the manifests and the systemd units,
// and checks it against the built binaries' --help.
func TestCommandsMatchFlags(t *testing.T) {
	var cmds []command
	cmds = append(cmds, textCommands(t, "README.md")...)
	units, _ := filepath.Glob("systemd/*.service")
	for _, f := range units {
		cmds = append(cmds, textCommands(t, f)...)
	}
	for _, f := range []string{"coordinator.Dockerfile", "worker.Dockerfile"} {
		cmds = append(cmds, dockerfileCommand(t, f))
	}
	var c struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	readYAML(t, "compose.yaml", &c)
	for name, s := range c.Services {
		if prog := programOf(s.Image); prog != "" && len(s.Command) > 0 {
			cmds = append(cmds, command{"compose.yaml service " + name, prog, s.Command})
		}
	}
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		for _, d := range readYAMLDocs(t, f) {
			for _, ct := range containersIn(t, d) {
				if prog := programOf(ct.Image); prog != "" {
					argv := ct.argv()
					if len(argv) > 0 && programOf(argv[0]) == prog {
						argv = argv[1:]
					}
					cmds = append(cmds, command{f + " container " + ct.Name, prog, argv})
				}
			}
		}
	}
	if len(cmds) < 8 {
		t.Fatalf("found only %d commands; the extraction is broken: %+v", len(cmds), cmds)
	}
	bins := buildBinaries(t)
	for _, cmd := range cmds {
		sub, flags := split(cmd.argv)
		if len(sub) == 0 {
			continue // e.g. the image's default command, checked with its CMD
		}
		known, ok := helpFlags(t, bins[cmd.prog], sub)
		if !ok {
			t.Errorf("%s: %s has no command %q", cmd.where, cmd.prog, strings.Join(sub, " "))
			continue
		}
		for _, f := range flags {
			if !known[f] {
				t.Errorf("%s: %s %s has no flag --%s", cmd.where, cmd.prog, strings.Join(sub, " "), f)
			}
		}
	}
}

type command struct {
	where string
	prog  string // "coordinator" or "worker"
	argv  []string
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

type container struct {
	Name      string   `yaml:"name"`
	Image     string   `yaml:"image"`
	Command   []string `yaml:"command"`
	Args      []string `yaml:"args"`
	Readiness *probe   `yaml:"readinessProbe"`
	Liveness  *probe   `yaml:"livenessProbe"`
	Env       []struct {
		Name      string `yaml:"name"`
		ValueFrom *struct {
			SecretKeyRef struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
}

func (c container) argv() []string { return append(append([]string{}, c.Command...), c.Args...) }

func (c container) secretEnv(name string) bool {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name != "" {
			return true
		}
	}
	return false
}

// containersIn is the containers of a Deployment's or a Job's pods.
func containersIn(t *testing.T, doc map[string]any) []container {
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	recode(t, doc, &d)
	return d.Spec.Template.Spec.Containers
}

// programOf names the program an image or a path runs.
func programOf(s string) string {
	base := s[strings.LastIndex(s, "/")+1:]
	base, _, _ = strings.Cut(base, ":")
	switch base {
	case "nightshift-coordinator", "coordinator":
		return "coordinator"
	case "nightshift-worker", "worker":
		return "worker"
	}
	return ""
}

// textCommands finds command lines in a text file: a word naming the
// program (a path, "go run ./coordinator", ExecStart=…) followed by a
// subcommand, up to the end of the shell command.
func textCommands(t *testing.T, path string) []command {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []command
	inFence := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasSuffix(path, ".md") {
			// Markdown: commands are in code blocks and `code spans`, never prose.
			if strings.HasPrefix(line, "```") {
				inFence = !inFence
				continue
			}
			if !inFence {
				var spans []string
				for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
					spans = append(spans, m[1])
				}
				line = strings.Join(spans, " ; ")
			}
		}
		words := strings.Fields(strings.NewReplacer("=", "= ", "\\", " ").Replace(line))
		for i := 0; i < len(words)-1; i++ {
			prog := programOf(strings.TrimSuffix(words[i], "="))
			if prog == "" || strings.HasPrefix(words[i], "app.kubernetes.io") || !regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(words[i+1]) {
				continue
			}
			var argv []string
			for _, w := range words[i+1:] {
				if w == "|" || w == "&&" || w == ";" || w == "&" || w == "#" || strings.HasPrefix(w, ">") {
					break
				}
				argv = append(argv, strings.TrimSuffix(w, "="))
			}
			out = append(out, command{path + ":" + itoa(n), prog, argv})
		}
	}
	return out
}

// dockerfileCommand is the image's ENTRYPOINT followed by its CMD.
func dockerfileCommand(t *testing.T, path string) command {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entry, cmd []string
	for _, line := range strings.Split(string(b), "\n") {
		for prefix, dst := range map[string]*[]string{"ENTRYPOINT ": &entry, "CMD ": &cmd} {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				if err := json.Unmarshal([]byte(rest), dst); err != nil {
					t.Errorf("%s: %s is not in exec (JSON) form: %v", path, strings.TrimSpace(prefix), err)
				}
			}
		}
	}
	if len(entry) != 1 || programOf(entry[0]) == "" {
		t.Fatalf("%s: ENTRYPOINT %v is not one of the binaries", path, entry)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") || !strings.Contains(string(b), "USER 65532") {
		t.Errorf("%s: want a static build (CGO_ENABLED=0) and a non-root USER", path)
	}
	return command{path, programOf(entry[0]), cmd}
}

// split separates leading subcommand words from the flags after them.
func split(argv []string) (sub, flags []string) {
	i := 0
	for ; i < len(argv) && !strings.HasPrefix(argv[i], "-"); i++ {
		sub = append(sub, argv[i])
	}
	if len(sub) > 1 && sub[0] != "payouts" {
		sub = sub[:1] // the rest are arguments, e.g. sign's APP.wasm
	}
	for _, a := range argv[i:] {
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			flags = append(flags, name)
		}
	}
	return sub, flags
}

func flagValue(argv []string, name string) string {
	for i, a := range argv {
		if a == name && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

var (
	buildOnce sync.Once
	bins      map[string]string
	buildErr  error
	helpCache sync.Map
)

func buildBinaries(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nightshift-deploy-test")
		if err != nil {
			buildErr = err
			return
		}
		bins = map[string]string{"coordinator": filepath.Join(dir, "coordinator"), "worker": filepath.Join(dir, "worker")}
		for prog, out := range bins {
			if b, err := exec.Command("go", "build", "-o", out, "../"+prog).CombinedOutput(); err != nil {
				buildErr = &buildError{prog, string(b)}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins
}

type buildError struct{ prog, out string }

func (e *buildError) Error() string { return "building " + e.prog + ": " + e.out }

// helpFlags runs "BIN SUB… -h" and collects the flags it lists; ok is
// false if the binary does not know the command.
func helpFlags(t *testing.T, bin string, sub []string) (map[string]bool, bool) {
	key := bin + " " + strings.Join(sub, " ")
	if v, ok := helpCache.Load(key); ok {
		return v.(map[string]bool), true
	}
	out, _ := exec.Command(bin, append(append([]string{}, sub...), "-h")...).CombinedOutput()
	if bytes.Contains(out, []byte("unknown")) || !bytes.Contains(out, []byte("Usage of")) {
		return nil, false
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllSubmatch(out, -1) {
		flags[string(m[1])] = true
	}
	helpCache.Store(key, flags)
	return flags, true
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err != nil {
			if err.Error() == "EOF" {
				return docs
			}
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// one decodes the single document of a kind into v.
func one(t *testing.T, docs map[string][]map[string]any, kind string, v any) {
	t.Helper()
	if len(docs[kind]) != 1 {
		t.Fatalf("want one %s in k8s/, have %d", kind, len(docs[kind]))
	}
	recode(t, docs[kind][0], v)
}

func recode(t *testing.T, doc map[string]any, v any) {
	t.Helper()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func dump(v any) string {
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

func sameLabels(a, b map[string]string) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func slicesHasPrefix(s []string, prefix ...string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range prefix {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// Every NIGHTSHIFT_* variable the deploy files and the runbook name is one
// a binary reads: the coordinator's are its serve and migrate flags'
// names (NIGHTSHIFT_ + the flag in upper case), the worker's are named in
// its run and attach help. A misspelt variable is otherwise silently
// ignored, and the setting it meant never applies.
func TestEnvironmentVariablesExist(t *testing.T) {
	bins := buildBinaries(t)
	known := map[string]bool{}
	for _, sub := range []string{"serve", "migrate"} {
		flags, ok := helpFlags(t, bins["coordinator"], []string{sub})
		if !ok {
			t.Fatalf("coordinator has no command %s", sub)
		}
		for f := range flags {
			known["NIGHTSHIFT_"+strings.ToUpper(strings.ReplaceAll(f, "-", "_"))] = true
		}
	}
	envName := regexp.MustCompile(`NIGHTSHIFT_[A-Z0-9_]+`)
	for _, sub := range []string{"run", "attach"} {
		out, _ := exec.Command(bins["worker"], sub, "-h").CombinedOutput()
		for _, name := range envName.FindAllString(string(out), -1) {
			known[name] = true
		}
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.env", "*.md", "k8s/*.yaml", "systemd/*.service", "launchd/*.plist", "windows/*.md"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range envName.FindAllString(string(b), -1) {
			seen++
			if !known[name] {
				t.Errorf("%s sets %s, which no command reads", f, name)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("found only %d NIGHTSHIFT_* names in %v; the search is broken", seen, files)
	}
}
