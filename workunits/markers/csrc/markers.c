// markers.c is the markers app (workunits/markers, cmd/markers) written in C,
// to measure how fast a C guest runs in the worker's sandbox against the same
// program built natively. It does the very same work as the Go app and must
// print the very same bytes: the same JSON input on stdin, the embedded Golub
// CSV parsed and rounded to thousandths, the same splitmix64 stream, the same
// draws of k distinct genes, the same leave-one-out nearest-centroid scores in
// 64-bit integers, the same histogram and five best signatures, the same JSON
// line on stdout. Bad input: the reason on stderr and exit status 1.
//
// Built for wasm32-wasi it is an app of the worker: between batches of work
// it reports progress and yields through the host module "nightshift", as
// workunits/appkit does for Go apps. It keeps no checkpoint: asked for one,
// it carries on, so a task stopped by its worker starts afresh.
//
// The data comes in golub_csv.h, which ./build generates from
// ../data/golub.csv: the CSV text as one string, so the C app starts from the
// same bytes as the Go one (which embeds the file with go:embed) and parses
// them too, and the module needs no file system.
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golub_csv.h"

#if defined(__wasm__)
__attribute__((import_module("nightshift"), import_name("yield"))) int32_t nightshift_yield(void);
__attribute__((import_module("nightshift"), import_name("progress"))) void nightshift_progress(double fraction);
#else
// Natively there is no worker to yield to.
static int32_t nightshift_yield(void) { return 0; }
static void nightshift_progress(double fraction) { (void)fraction; }
#endif

enum {
	MAX_K = 64,            // markers.MaxK
	MAX_N = 1000000,       // markers.MaxN
	MAX_SAMPLES = 128,     // maxSamples
	MIN_PER_CLASS = 2,     // minPerClass
	MAX_ABS_VALUE = 10000, // maxAbsValue, in thousandths
	BEST_SIZE = 5,         // bestSize
	YIELD_WORK = 2048,     // cmd/markers' yieldWork: genes scored between yields
};

enum { ALL = 0, AML = 1 };

static void fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *format, ...) {
	va_list ap;
	va_start(ap, format);
	fputs("markers: ", stderr);
	vfprintf(stderr, format, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xmalloc(size_t n) {
	void *p = malloc(n ? n : 1);
	if (!p) fail("out of memory");
	return p;
}

// ---- the data set (dataset.go, quantise.go) ----

struct dataset {
	int genes, samples;
	int *index;        // the CSV's index column, per gene
	char **accession;  // per gene
	uint8_t *classes;  // per sample
	int32_t *values;   // gene-major: values[g*samples+s], in thousandths
};

// csv reads RFC 4180 records as Go's encoding/csv does for this file:
// quoted fields may hold commas and doubled quotes, lines end in \n or \r\n.
struct csv {
	const char *p, *end;
	int line;
	char *buf;   // the fields of the current record, each NUL-terminated
	size_t cap;
	char **fields;
	int nfields, fcap;
};

// csv_read reads the next record into c->fields; it returns 0 at the end.
static int csv_read(struct csv *c) {
	if (c->p >= c->end) return 0;
	c->line++;
	size_t len = 0;
	c->nfields = 0;
	// Field start offsets into buf, then pointers once buf stops moving.
	size_t starts[4096];
	for (;;) {
		if (c->nfields == (int)(sizeof starts / sizeof starts[0])) fail("line %d: too many fields", c->line);
		starts[c->nfields++] = len;
		int quoted = c->p < c->end && *c->p == '"';
		if (quoted) c->p++;
		for (;;) {
			if (len + 2 > c->cap) {
				c->cap = c->cap ? 2 * c->cap : 4096;
				c->buf = realloc(c->buf, c->cap);
				if (!c->buf) fail("out of memory");
			}
			if (c->p >= c->end) {
				if (quoted) fail("line %d: unterminated quoted field", c->line);
				break;
			}
			char ch = *c->p;
			if (quoted) {
				if (ch == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						c->buf[len++] = '"';
						c->p += 2;
						continue;
					}
					c->p++;
					quoted = 0;
					continue;
				}
				if (ch == '\n') c->line++;
				c->buf[len++] = ch;
				c->p++;
				continue;
			}
			if (ch == ',' || ch == '\n' || (ch == '\r' && c->p + 1 < c->end && c->p[1] == '\n')) break;
			if (ch == '"') fail("line %d: bare \" in non-quoted field", c->line);
			c->buf[len++] = ch;
			c->p++;
		}
		c->buf[len++] = '\0';
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '\r') c->p++;
		if (c->p < c->end && *c->p == '\n') c->p++;
		break;
	}
	if (c->nfields > c->fcap) {
		c->fcap = c->nfields;
		c->fields = realloc(c->fields, c->fcap * sizeof *c->fields);
		if (!c->fields) fail("out of memory");
	}
	for (int i = 0; i < c->nfields; i++) c->fields[i] = c->buf + starts[i];
	return 1;
}

static int is_digit(char c) { return '0' <= c && c <= '9'; }

// parse_thousandths converts a plain decimal such as "-1.45769" to integer
// thousandths, rounding half away from zero (-1458), digit by digit so that
// every machine gets the same integer; 0 if s is no such number in range.
static int parse_thousandths(const char *s, int64_t *out) {
	const char *rest = s;
	int negative = 0;
	if (*rest == '-' || *rest == '+') {
		negative = *rest == '-';
		rest++;
	}
	int64_t whole = 0;
	int whole_digits = 0;
	for (; is_digit(*rest); rest++, whole_digits++) {
		whole = whole * 10 + (*rest - '0');
		if (whole > MAX_ABS_VALUE / 1000) return 0;
	}
	if (whole_digits == 0) return 0;
	int64_t fraction = 0;
	int round_up = 0;
	if (*rest == '.') {
		rest++;
		if (*rest == '\0') return 0;
		for (int i = 0; i < 3; i++) {
			fraction *= 10;
			if (is_digit(*rest)) fraction += *rest++ - '0';
		}
		if (is_digit(*rest)) round_up = *rest >= '5';
		while (is_digit(*rest)) rest++;
	}
	if (*rest != '\0') return 0;
	int64_t magnitude = whole * 1000 + fraction + round_up;
	if (magnitude > MAX_ABS_VALUE) return 0;
	*out = negative ? -magnitude : magnitude;
	return 1;
}

static int has_suffix(const char *s, const char *suffix) {
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int compare_int(const void *a, const void *b) {
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void load_dataset(struct dataset *d) {
	struct csv c = {.p = golub_csv, .end = golub_csv + sizeof golub_csv - 1};
	if (!csv_read(&c)) fail("golub.csv: read header: EOF");
	const char *fixed[] = {"index", "accession", "description"};
	if (c.nfields < 3) fail("header must start with index,accession,description");
	for (int i = 0; i < 3; i++) {
		if (strcmp(c.fields[i], fixed[i]) != 0) fail("header must start with index,accession,description");
	}
	int nfields = c.nfields;
	d->samples = nfields - 3;
	if (d->samples > MAX_SAMPLES) fail("%d sample columns, at most %d allowed", d->samples, MAX_SAMPLES);
	d->classes = xmalloc(d->samples);
	int counts[2] = {0, 0};
	for (int s = 0; s < d->samples; s++) {
		const char *name = c.fields[3 + s];
		if (has_suffix(name, "_ALL")) d->classes[s] = ALL;
		else if (has_suffix(name, "_AML")) d->classes[s] = AML;
		else fail("sample column \"%s\": name must end in _ALL or _AML", name);
		counts[d->classes[s]]++;
	}
	if (counts[ALL] < MIN_PER_CLASS || counts[AML] < MIN_PER_CLASS) fail("a class has fewer than %d samples", MIN_PER_CLASS);

	int cap = 1024;
	d->genes = 0;
	d->index = xmalloc(cap * sizeof *d->index);
	d->accession = xmalloc(cap * sizeof *d->accession);
	d->values = xmalloc((size_t)cap * d->samples * sizeof *d->values);
	while (csv_read(&c)) {
		if (c.nfields != nfields) fail("record on line %d: wrong number of fields", c.line);
		if (d->genes == cap) {
			cap *= 2;
			d->index = realloc(d->index, cap * sizeof *d->index);
			d->accession = realloc(d->accession, cap * sizeof *d->accession);
			d->values = realloc(d->values, (size_t)cap * d->samples * sizeof *d->values);
			if (!d->index || !d->accession || !d->values) fail("out of memory");
		}
		char *end;
		long index = strtol(c.fields[0], &end, 10);
		if (*c.fields[0] == '\0' || *end != '\0') fail("line %d: index \"%s\" is not an integer", c.line, c.fields[0]);
		if (*c.fields[1] == '\0') fail("line %d: empty accession", c.line);
		d->index[d->genes] = (int)index;
		size_t alen = strlen(c.fields[1]) + 1;
		d->accession[d->genes] = memcpy(xmalloc(alen), c.fields[1], alen);
		for (int s = 0; s < d->samples; s++) {
			int64_t v;
			if (!parse_thousandths(c.fields[3 + s], &v)) fail("line %d: value \"%s\"", c.line, c.fields[3 + s]);
			d->values[(size_t)d->genes * d->samples + s] = (int32_t)v;
		}
		d->genes++;
	}
	if (d->genes == 0) fail("no gene rows");
	int *sorted = xmalloc(d->genes * sizeof *sorted);
	memcpy(sorted, d->index, d->genes * sizeof *sorted);
	qsort(sorted, d->genes, sizeof *sorted, compare_int);
	for (int g = 1; g < d->genes; g++) {
		if (sorted[g] == sorted[g - 1]) fail("duplicate index %d", sorted[g]);
	}
	free(sorted);
	free(c.buf);
	free(c.fields);
}

// ---- random signatures (rng.go) ----

static uint64_t mix64(uint64_t z) {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *state) {
	*state += 0x9e3779b97f4a7c15u;
	return mix64(*state);
}

// intn returns a uniform integer in [0, n) by Lemire's multiply-and-reject.
static int intn(uint64_t *state, int n) {
	uint64_t bound = (uint64_t)n;
	unsigned __int128 m = (unsigned __int128)rng_next(state) * bound;
	if ((uint64_t)m < bound) {
		uint64_t threshold = -bound % bound;
		while ((uint64_t)m < threshold) m = (unsigned __int128)rng_next(state) * bound;
	}
	return (int)(m >> 64);
}

// draw picks k distinct genes by the first k steps of a Fisher-Yates
// shuffle of perm, then undoes the swaps so perm is the identity again.
static void draw(uint64_t *state, int *perm, int n, int *swaps, int *dst, int k) {
	for (int j = 0; j < k; j++) {
		int swap = j + intn(state, n - j);
		int t = perm[j];
		perm[j] = perm[swap];
		perm[swap] = t;
		swaps[j] = swap;
	}
	memcpy(dst, perm, k * sizeof *dst);
	for (int j = k - 1; j >= 0; j--) {
		int swap = swaps[j];
		int t = perm[j];
		perm[j] = perm[swap];
		perm[swap] = t;
	}
}

// ---- scoring (score.go) ----

// score returns how many samples are classified correctly when each in turn
// is held out and assigned to the class whose centroid, over the genes and
// computed from the other samples, is nearer; a tie counts as wrong.
static int score(const struct dataset *d, const int64_t counts[2], const int *genes, int k,
		 const int32_t **rows, int64_t (*sums)[2]) {
	int ns = d->samples;
	for (int j = 0; j < k; j++) {
		const int32_t *row = d->values + (size_t)genes[j] * ns;
		int64_t sum[2] = {0, 0};
		for (int i = 0; i < ns; i++) sum[d->classes[i]] += row[i];
		rows[j] = row;
		sums[j][0] = sum[0];
		sums[j][1] = sum[1];
	}
	int correct = 0;
	for (int i = 0; i < ns; i++) {
		int class = d->classes[i];
		int64_t n[2] = {counts[0], counts[1]};
		n[class]--;
		// dist[c] = Σ_g (n_c·x_ig − S_cg)², the squared distance to
		// centroid c scaled by n_c².
		int64_t dist[2] = {0, 0};
		for (int j = 0; j < k; j++) {
			int64_t x = rows[j][i];
			int64_t sum[2] = {sums[j][0], sums[j][1]};
			sum[class] -= x;
			int64_t d0 = n[ALL] * x - sum[ALL];
			int64_t d1 = n[AML] * x - sum[AML];
			dist[ALL] += d0 * d0;
			dist[AML] += d1 * d1;
		}
		// Compare dist[c]/n_c² without dividing (see nearer in score.go).
		int64_t all = dist[ALL] * n[AML] * n[AML];
		int64_t aml = dist[AML] * n[ALL] * n[ALL];
		int predicted = all < aml ? ALL : aml < all ? AML : -1;
		if (predicted == class) correct++;
	}
	return correct;
}

// ---- the search (search.go) ----

struct ranked {
	int score;
	int rows[MAX_K]; // sorted by gene index
};

struct search {
	const struct dataset *d;
	int k, n;
	uint64_t seed, rng;
	int done;
	int *histogram; // by score
	struct ranked best[BEST_SIZE];
	int nbest;
	// scratch
	int *perm, *swaps, *genes;
	int64_t counts[2];
	const int32_t **rows;
	int64_t (*sums)[2];
};

static void search_init(struct search *s, const struct dataset *d, int k, uint64_t seed, int n) {
	memset(s, 0, sizeof *s);
	s->d = d;
	s->k = k;
	s->n = n;
	s->seed = seed;
	s->rng = mix64(seed ^ mix64((uint64_t)k));
	s->histogram = calloc(d->samples + 1, sizeof *s->histogram);
	s->perm = xmalloc(d->genes * sizeof *s->perm);
	for (int i = 0; i < d->genes; i++) s->perm[i] = i;
	s->swaps = xmalloc(k * sizeof *s->swaps);
	s->genes = xmalloc(k * sizeof *s->genes);
	for (int i = 0; i < d->samples; i++) s->counts[d->classes[i]]++;
	s->rows = xmalloc(k * sizeof *s->rows);
	s->sums = xmalloc(k * sizeof *s->sums);
	if (!s->histogram) fail("out of memory");
}

// record counts one scored signature and keeps it if it is among the best;
// earlier draws win ties, and a set drawn again is not listed twice.
static void record(struct search *s, int sc, const int *rows) {
	s->done++;
	s->histogram[sc]++;
	if (s->nbest == BEST_SIZE && sc <= s->best[BEST_SIZE - 1].score) return;
	int sorted[MAX_K];
	int k = s->k;
	for (int i = 0; i < k; i++) { // insertion sort by gene index
		int row = rows[i], j = i;
		for (; j > 0 && s->d->index[sorted[j - 1]] > s->d->index[row]; j--) sorted[j] = sorted[j - 1];
		sorted[j] = row;
	}
	for (int b = 0; b < s->nbest; b++) {
		if (memcmp(s->best[b].rows, sorted, k * sizeof *sorted) == 0) return;
	}
	int at = s->nbest;
	while (at > 0 && s->best[at - 1].score < sc) at--;
	int last = s->nbest < BEST_SIZE ? s->nbest : BEST_SIZE - 1;
	for (int b = last; b > at; b--) s->best[b] = s->best[b - 1];
	s->best[at].score = sc;
	memcpy(s->best[at].rows, sorted, k * sizeof *sorted);
	if (s->nbest < BEST_SIZE) s->nbest++;
}

static void step(struct search *s, int count) {
	int left = s->n - s->done;
	int end = s->done + (count < left ? count : left);
	while (s->done < end) {
		draw(&s->rng, s->perm, s->d->genes, s->swaps, s->genes, s->k);
		record(s, score(s->d, s->counts, s->genes, s->k, s->rows, s->sums), s->genes);
	}
}

// ---- JSON in and out (cmd/markers) ----

static const char *skip_space(const char *p) {
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
	return p;
}

// parse_int reads a JSON integer: its magnitude into *u, its sign into *negative.
static const char *parse_int(const char *p, const char *field, int *negative, uint64_t *u) {
	*negative = *p == '-';
	if (*negative) p++;
	if (!is_digit(*p) || (*p == '0' && is_digit(p[1]))) fail("read input: field %s: not a JSON integer", field);
	*u = 0;
	for (; is_digit(*p); p++) {
		unsigned digit = *p - '0';
		if (*u > (UINT64_MAX - digit) / 10) fail("read input: field %s: number out of range", field);
		*u = *u * 10 + digit;
	}
	if (*p == '.' || *p == 'e' || *p == 'E') fail("read input: field %s: not an integer", field);
	return p;
}

// parse_int64 reads a JSON integer that fits in an int64 (a Go int).
static const char *parse_int64(const char *p, const char *field, int64_t *v) {
	int negative;
	uint64_t u;
	p = parse_int(p, field, &negative, &u);
	if (u > INT64_MAX) fail("read input: field %s: number out of range", field);
	*v = negative ? -(int64_t)u : (int64_t)u;
	return p;
}

static int same_ascii_fold(const char *a, size_t n, const char *lower) {
	if (strlen(lower) != n) return 0;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];
		if ('A' <= c && c <= 'Z') c += 'a' - 'A';
		if (c != lower[i]) return 0;
	}
	return 1;
}

// read_input decodes exactly one JSON object with the fields k, seed and
// n (matched without regard to case, as encoding/json does); anything
// else, or trailing data, is an error.
static void read_input(int *k, uint64_t *seed, int *n) {
	static char in[1 << 16];
	size_t len = fread(in, 1, sizeof in - 1, stdin);
	if (len == sizeof in - 1) fail("read input: too long");
	in[len] = '\0';
	if (memchr(in, '\0', len)) fail("read input: invalid character");
	const char *p = skip_space(in);
	if (*p == '\0') fail("read input: stdin is empty, want a JSON object");
	if (*p++ != '{') fail("read input: want a JSON object");
	int64_t kk = 0, nn = 0;
	uint64_t ss = 0;
	p = skip_space(p);
	if (*p == '}') p++;
	else for (;;) {
		if (*p++ != '"') fail("read input: want a field name");
		const char *name = p;
		while (*p && *p != '"' && *p != '\\') p++;
		if (*p != '"') fail("read input: unsupported field name");
		size_t nlen = p - name;
		p = skip_space(p + 1);
		if (*p++ != ':') fail("read input: want ':'");
		p = skip_space(p);
		if (same_ascii_fold(name, nlen, "k")) {
			p = parse_int64(p, "k", &kk);
		} else if (same_ascii_fold(name, nlen, "n")) {
			p = parse_int64(p, "n", &nn);
		} else if (same_ascii_fold(name, nlen, "seed")) {
			int negative;
			p = parse_int(p, "seed", &negative, &ss);
			if (negative) fail("read input: field seed: number out of range");
		} else {
			fail("read input: json: unknown field \"%.*s\"", (int)nlen, name);
		}
		p = skip_space(p);
		if (*p == ',') {
			p = skip_space(p + 1);
			continue;
		}
		if (*p++ != '}') fail("read input: want ',' or '}'");
		break;
	}
	if (*skip_space(p) != '\0') fail("read input: unexpected data after the JSON object");
	if (kk < 1 || kk > MAX_K) fail("invalid input: k must be between 1 and %d, got %" PRId64, MAX_K, kk);
	if (nn < 1 || nn > MAX_N) fail("invalid input: n must be between 1 and %d, got %" PRId64, MAX_N, nn);
	*k = (int)kk;
	*n = (int)nn;
	*seed = ss;
}

// put_json_string writes s as a JSON string as encoding/json does for
// ASCII: <, > and & escaped for HTML, control characters as \u00XX.
static void put_json_string(const char *s) {
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (c < 0x20 || c == '<' || c == '>' || c == '&') printf("\\u%04x", c);
			else putchar(c);
		}
	}
	putchar('"');
}

static void write_output(const struct search *s) {
	const struct dataset *d = s->d;
	printf("{\"k\":%d,\"seed\":%" PRIu64 ",\"n\":%d,\"histogram\":[", s->k, s->seed, s->n);
	for (int i = 0; i <= d->samples; i++) printf(i ? ",%d" : "%d", s->histogram[i]);
	fputs("],\"best\":[", stdout);
	for (int b = 0; b < s->nbest; b++) {
		const struct ranked *r = &s->best[b];
		printf("%s{\"score\":%d,\"accuracy\":\"%d/%d\",\"genes\":[", b ? "," : "", r->score, r->score, d->samples);
		for (int j = 0; j < s->k; j++) {
			printf("%s{\"index\":%d,\"accession\":", j ? "," : "", d->index[r->rows[j]]);
			put_json_string(d->accession[r->rows[j]]);
			putchar('}');
		}
		fputs("]}", stdout);
	}
	fputs("]}\n", stdout);
	if (fflush(stdout) != 0) fail("write output: failed");
}

int main(void) {
	int k, n;
	uint64_t seed;
	read_input(&k, &seed, &n);
	struct dataset d;
	load_dataset(&d);
	if (k > d.genes) fail("k = %d but the data set has %d genes", k, d.genes);
	struct search s;
	search_init(&s, &d, k, seed, n);
	int per_yield = YIELD_WORK / k > 1 ? YIELD_WORK / k : 1;
	for (;;) {
		step(&s, per_yield);
		nightshift_progress((double)s.done / (double)n);
		if (s.done == n) break;
		nightshift_yield(); // Continue or Checkpoint: either way, carry on
	}
	write_output(&s);
	return 0;
}
