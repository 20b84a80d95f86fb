/*
 * json_bench — what JSON costs on this machine, over the official FHIR R4
 * examples (the *.json files of node_modules/hl7.fhir.r4.examples):
 *
 *   (a) our parser (jl_json_parse), parse + FHIR validation (jl_fhir_validate)
 *       and our serialiser (jl_json_write), in MB/s;
 *   (b) the same corpus through the C JSON libraries Debian packages: json-c
 *       (strict tokener, UTF-8 validation), cJSON, yajl (tree API and the
 *       callback-free validate-only parse) and jsmn (parent links);
 *   (c) a correctness matrix: what each library does with the inputs FHIR
 *       cares about (exact decimals, "\u0000", bad UTF-8, duplicate keys,
 *       deep nesting).
 *
 * Two workloads: "documents" parses every file separately, resetting the
 * arena between documents (the server's case: one request, one arena), and
 * "bundle" parses one large Bundle (Bundle-resources.json, ~35 MB). The
 * documents figure is also given for the files of at most 64 KiB alone,
 * since the corpus's bytes are dominated by a few multi-megabyte bundles.
 *
 * The other libraries are loaded with dlopen: the Makefile links every
 * bench/ program with our libraries only, and a missing package then prints "not
 * installed" instead of breaking the build. json-c is loaded first and with
 * RTLD_DEEPBIND so that its json_object_* calls bind inside json-c even if
 * jansson were in the process (STYLE.md: the json_object_get clash). Types
 * and constants come from the packages' headers when they are present.
 *
 *   build/bench/json_bench [small|full] [PARTS] [EXAMPLES_DIR]
 *     default: $BENCH_SIZE (small or full), else full; small takes a fixed
 *     subset of ~300 files and fewer runs. PARTS picks figures (default
 *     "pvwcm"): p parse, v parse + validate, w serialise, c the other
 *     libraries, m the correctness matrix; e.g. "p" under `perf record`. Exit 1 only when something does
 *     not work (corpus missing, our parser or writer failing on the
 *     bundle, a round trip that changes a document), never for a low figure.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/json.h"
#include "base/time.h"
#include "fhir/validate.h"

#if __has_include(<json-c/json.h>)
#include <json-c/json.h>
#define HAVE_JSONC 1
#endif
#if __has_include(<cjson/cJSON.h>)
#include <cjson/cJSON.h>
#define HAVE_CJSON 1
#endif
#if __has_include(<yajl/yajl_parse.h>) && __has_include(<yajl/yajl_tree.h>)
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>
#include <yajl/yajl_version.h>
#define HAVE_YAJL 1
#endif
#if __has_include(<jsmn.h>)
/* Without parent links jsmn walks back over its tokens for every closing bracket (quadratic). */
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#define JSMN_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <jsmn.h>
#pragma GCC diagnostic pop
#define HAVE_JSMN 1
#endif

#define FLOOR_PARSE 400.0 /* MB/s, our parser, both workloads */
#define SMALL_DOC 65536	  /* "small document" bound for the server's-case figure */
#define MAXRUNS 9
#define DEPTH 128 /* nesting limit given to every library that has one */

typedef struct doc {
	char *p; /* NUL-terminated copy (yajl's tree API needs the NUL) */
	size_t n;
	const char *name;
} doc_t;

typedef struct corpus {
	doc_t *d;
	size_t n;
	size_t bytes, small_bytes, nsmall;
} corpus_t;

/* One measured figure: median MB/s over the runs, for all documents, small ones, the bundle. */
typedef struct fig {
	double all, small, bundle;
	long rejected; /* documents the library refused (first run) */
	int present;
} fig_t;

static int runs;
static int failed; /* something did not work: exit 1 */

/* ---- helpers ----------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void *xmalloc(size_t n)
{
	void *p = jl_malloc(JL_MEM_MISC, n ? n : 1);
	if (!p) {
		fprintf(stderr, "json_bench: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

static int load_file(const char *path, doc_t *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct stat st;
	if (fstat(fileno(f), &st) != 0) {
		fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	char *p = xmalloc(n + 1);
	if (fread(p, 1, n, f) != n) {
		fclose(f);
		jl_free(JL_MEM_MISC, p);
		return -1;
	}
	fclose(f);
	p[n] = 0;
	out->p = p;
	out->n = n;
	return 0;
}

static void machine(void)
{
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f)) {
			if (strncmp(line, "model name", 10) == 0) {
				char *c = strchr(line, ':');
				if (c) {
					c++;
					while (*c == ' ' || *c == '\t')
						c++;
					c[strcspn(c, "\n")] = 0;
					snprintf(model, sizeof model, "%s", c);
				}
				break;
			}
		}
		fclose(f);
	}
	printf("machine: %ld cores (nproc), CPU: %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
}

/*
 * Reads every example file, sorted by name; at small size every k-th file
 * (a fixed, deterministic subset of about 300).
 */
static int load_corpus(const char *dir, int small, corpus_t *c)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t cap = 8192, n = 0;
	char **names = xmalloc(cap * sizeof *names);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 ||
		    strcmp(e->d_name, "package.json") == 0)
			continue;
		if (n == cap) {
			cap *= 2;
			char **nn = jl_realloc(JL_MEM_MISC, names, cap * sizeof *names);
			if (!nn)
				exit(1);
			names = nn;
		}
		names[n++] = jl_strndup(JL_MEM_MISC, e->d_name, l);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_name);
	size_t step = small && n > 300 ? n / 300 : 1;
	memset(c, 0, sizeof *c);
	c->d = xmalloc((n / step + 1) * sizeof *c->d);
	char path[4096];
	for (size_t i = 0; i < n; i += step) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		doc_t *dc = &c->d[c->n];
		if (load_file(path, dc) != 0) {
			fprintf(stderr, "json_bench: cannot read %s: %s\n", path, strerror(errno));
			return -1;
		}
		dc->name = names[i];
		c->n++;
		c->bytes += dc->n;
		if (dc->n <= SMALL_DOC) {
			c->nsmall++;
			c->small_bytes += dc->n;
		}
	}
	return n ? 0 : -1;
}

/* ---- the engines ---------------------------------------------------------------- */

/*
 * An engine parses (or serialises) one document and returns 0 when it worked.
 * `out` receives the bytes produced when the engine is a serialiser (MB/s of
 * output), else stays 0.
 */
typedef int (*engine_fn)(const char *p, size_t n, size_t *out);

static jl_arena_t *arena;
static jl_buf_t wbuf;
static long invalid_docs; /* documents with FHIR validation errors (counted on the first run) */
static int counting;

/*
 * Each document pays for releasing its own memory, as a request does when its
 * arena is freed (and as the other libraries do when they free their tree):
 * the arena is reset at the end, inside the timed call. Resetting at the start
 * instead would charge the next document for freeing the 35 MB bundle's blocks.
 */
static int our_parse(const char *p, size_t n, size_t *out)
{
	jl_json_t *v;
	jl_json_err_t e;
	int bad = jl_json_parse(arena, p, n, NULL, &v, &e) != JL_OK;
	jl_arena_reset(arena);
	return bad;
}

static int our_validate(const char *p, size_t n, size_t *out)
{
	jl_json_t *v;
	jl_json_err_t e;
	int bad = 1;
	if (jl_json_parse(arena, p, n, NULL, &v, &e) == JL_OK) {
		jl_diag_t d;
		jl_diag_init(&d, arena);
		jl_rc rc = jl_fhir_validate(v, NULL, &d);
		if (rc == JL_EINVALID)
			invalid_docs += counting; /* validation worked: it found issues in the example */
		bad = rc != JL_OK && rc != JL_EINVALID;
	}
	jl_arena_reset(arena);
	return bad;
}

#ifdef HAVE_JSONC
static struct {
	void *h;
	__typeof__(&json_tokener_new_ex) tokener_new_ex;
	__typeof__(&json_tokener_free) tokener_free;
	__typeof__(&json_tokener_reset) tokener_reset;
	__typeof__(&json_tokener_set_flags) tokener_set_flags;
	__typeof__(&json_tokener_parse_ex) tokener_parse_ex;
	__typeof__(&json_tokener_get_error) tokener_get_error;
	__typeof__(&json_object_put) put;
	__typeof__(&json_object_to_json_string_length) to_string_length;
	__typeof__(&json_object_get_string_len) get_string_len;
	__typeof__(&json_object_array_get_idx) array_get_idx;
	__typeof__(&json_c_version) version;
	struct json_tokener *tok;
} jc;

static struct json_object *jsonc_tree(const char *p, size_t n)
{
	jc.tokener_reset(jc.tok);
	struct json_object *o = jc.tokener_parse_ex(jc.tok, p, (int)n);
	if (!o || jc.tokener_get_error(jc.tok) != json_tokener_success) {
		if (o)
			jc.put(o);
		return NULL;
	}
	/* Strict mode: only whitespace may follow the value. */
	return o;
}

static int jsonc_parse(const char *p, size_t n, size_t *out)
{
	struct json_object *o = jsonc_tree(p, n);
	if (!o)
		return 1;
	jc.put(o);
	return 0;
}
#endif

#ifdef HAVE_CJSON
static struct {
	void *h;
	__typeof__(&cJSON_ParseWithLength) parse;
	__typeof__(&cJSON_Delete) del;
	__typeof__(&cJSON_PrintUnformatted) print;
	__typeof__(&cJSON_free) free;
	__typeof__(&cJSON_Version) version;
	__typeof__(&cJSON_GetArrayItem) item;
} cj;

static int cjson_parse(const char *p, size_t n, size_t *out)
{
	cJSON *o = cj.parse(p, n);
	if (!o)
		return 1;
	cj.del(o);
	return 0;
}
#endif

#ifdef HAVE_YAJL
static struct {
	void *h;
	__typeof__(&yajl_tree_parse) tree_parse;
	__typeof__(&yajl_tree_free) tree_free;
	__typeof__(&yajl_tree_get) tree_get;
	__typeof__(&yajl_alloc) alloc;
	__typeof__(&yajl_parse) parse;
	__typeof__(&yajl_complete_parse) complete;
	__typeof__(&yajl_free) free;
	__typeof__(&yajl_version) version;
} yj;

/* yajl's tree API reads up to the NUL: p[n] is 0 for every corpus document. */
static int yajl_tree(const char *p, size_t n, size_t *out)
{
	char err[128];
	yajl_val v = yj.tree_parse(p, err, sizeof err);
	if (!v)
		return 1;
	yj.tree_free(v);
	return 0;
}

static int yajl_sax(const char *p, size_t n, size_t *out)
{
	yajl_handle h = yj.alloc(NULL, NULL, NULL); /* no callbacks: validate only */
	if (!h)
		return 1;
	int bad =
	    yj.parse(h, (const unsigned char *)p, n) != yajl_status_ok || yj.complete(h) != yajl_status_ok;
	yj.free(h);
	return bad;
}
#endif

#ifdef HAVE_JSMN
static jsmntok_t *jtok;
static size_t jtok_cap;

/* Counts the tokens first, then parses into a buffer that grows as needed (kept between documents). */
static int jsmn_run(const char *p, size_t n, size_t *out)
{
	jsmn_parser jp;
	jsmn_init(&jp);
	int k = jsmn_parse(&jp, p, n, NULL, 0);
	if (k < 0)
		return 1;
	if ((size_t)k > jtok_cap) {
		jl_free(JL_MEM_MISC, jtok);
		jtok_cap = (size_t)k + (size_t)k / 2;
		jtok = xmalloc(jtok_cap * sizeof *jtok);
	}
	jsmn_init(&jp);
	return jsmn_parse(&jp, p, n, jtok, (unsigned)jtok_cap) != k;
}
#endif

/* ---- serialisers: the tree is built untimed, only the write is timed ----------- */

typedef int (*ser_fn)(const char *p, size_t n, size_t *out, int64_t *ns);

static int our_write(const char *p, size_t n, size_t *out, int64_t *ns)
{
	jl_json_t *v;
	jl_json_err_t e;
	jl_arena_reset(arena);
	if (jl_json_parse(arena, p, n, NULL, &v, &e) != JL_OK)
		return 0; /* rejected documents are counted by the parse figure; nothing to write */
	jl_buf_clear(&wbuf);
	int64_t t0 = jl_mono_ns();
	jl_rc rc = jl_json_write(&wbuf, v, 0);
	*ns += jl_mono_ns() - t0;
	*out += wbuf.n;
	if (rc != JL_OK)
		return 1;
	if (counting) {
		/* First run: the output must parse back to the same tree (numbers by their text). */
		jl_json_t *w;
		if (jl_json_parse(arena, wbuf.p, wbuf.n, NULL, &w, &e) != JL_OK || !jl_json_equal(v, w))
			return 1;
	}
	jl_arena_reset(arena); /* untimed: only the write is measured */
	return 0;
}

#ifdef HAVE_JSONC
static int jsonc_write(const char *p, size_t n, size_t *out, int64_t *ns)
{
	struct json_object *o = jsonc_tree(p, n);
	if (!o)
		return 0;
	size_t len = 0;
	int64_t t0 = jl_mono_ns();
	const char *s = jc.to_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	*ns += jl_mono_ns() - t0;
	*out += len;
	jc.put(o);
	return s == NULL;
}
#endif

#ifdef HAVE_CJSON
static int cjson_write(const char *p, size_t n, size_t *out, int64_t *ns)
{
	cJSON *o = cj.parse(p, n);
	if (!o)
		return 0;
	int64_t t0 = jl_mono_ns();
	char *s = cj.print(o);
	size_t len = s ? strlen(s) : 0;
	if (s)
		cj.free(s);
	*ns += jl_mono_ns() - t0;
	*out += len;
	cj.del(o);
	return s == NULL;
}
#endif

/* ---- measurement ------------------------------------------------------------------ */

/* Runs fn over the corpus and the bundle `runs` times; fills medians. */
static void measure(const char *label, engine_fn fn, const corpus_t *c, const doc_t *bundle, fig_t *f)
{
	double all[MAXRUNS], sm[MAXRUNS], bu[MAXRUNS];
	f->present = 1;
	f->rejected = 0;
	for (int r = 0; r < runs; r++) {
		int64_t t_all = 0, t_small = 0;
		counting = r == 0;
		for (size_t i = 0; i < c->n; i++) {
			size_t o = 0;
			int64_t t0 = jl_mono_ns();
			int bad = fn(c->d[i].p, c->d[i].n, &o);
			int64_t dt = jl_mono_ns() - t0;
			t_all += dt;
			if (c->d[i].n <= SMALL_DOC)
				t_small += dt;
			if (bad && r == 0)
				f->rejected++;
		}
		size_t o = 0;
		int64_t t0 = jl_mono_ns();
		int bad = fn(bundle->p, bundle->n, &o);
		int64_t dt = jl_mono_ns() - t0;
		if (bad && r == 0) {
			fprintf(stderr, "json_bench: %s rejected %s\n", label, bundle->name);
			f->rejected++;
		}
		all[r] = (double)c->bytes / 1e3 / ((double)t_all / 1e6);
		sm[r] = (double)c->small_bytes / 1e3 / ((double)t_small / 1e6);
		bu[r] = (double)bundle->n / 1e3 / ((double)dt / 1e6);
	}
	counting = 0;
	f->all = median(all, runs);
	f->small = median(sm, runs);
	f->bundle = median(bu, runs);
}

/* The same for a serialiser: MB/s of output, time of the write alone. */
static void measure_write(const char *label, ser_fn fn, const corpus_t *c, const doc_t *bundle, fig_t *f)
{
	double all[MAXRUNS], sm[MAXRUNS], bu[MAXRUNS];
	f->present = 1;
	f->rejected = 0;
	for (int r = 0; r < runs; r++) {
		int64_t t_all = 0, t_small = 0;
		size_t o_all = 0, o_small = 0;
		counting = r == 0;
		for (size_t i = 0; i < c->n; i++) {
			size_t o = 0;
			int64_t ns = 0;
			int bad = fn(c->d[i].p, c->d[i].n, &o, &ns);
			t_all += ns;
			o_all += o;
			if (c->d[i].n <= SMALL_DOC) {
				t_small += ns;
				o_small += o;
			}
			if (bad && r == 0) {
				fprintf(stderr, "json_bench: %s failed on %s\n", label, c->d[i].name);
				f->rejected++;
			}
		}
		size_t o = 0;
		int64_t ns = 0;
		if (fn(bundle->p, bundle->n, &o, &ns) && r == 0) {
			fprintf(stderr, "json_bench: %s failed on %s\n", label, bundle->name);
			f->rejected++;
		}
		all[r] = (double)o_all / 1e3 / ((double)t_all / 1e6);
		sm[r] = (double)o_small / 1e3 / ((double)t_small / 1e6);
		bu[r] = (double)o / 1e3 / ((double)ns / 1e6);
	}
	counting = 0;
	f->all = median(all, runs);
	f->small = median(sm, runs);
	f->bundle = median(bu, runs);
}

static void row(const char *name, const fig_t *f, double floor, int installed)
{
	if (!installed) {
		printf("  %-44s %10s %10s %10s   not installed\n", name, "-", "-", "-");
		return;
	}
	if (!f->present)
		return; /* not asked for (PARTS) */
	printf("  %-44s %10.0f %10.0f %10.0f", name, f->all, f->small, f->bundle);
	if (floor > 0)
		printf("   floor %.0f%s", floor,
		       f->all < floor || f->small < floor || f->bundle < floor ? " BELOW FLOOR" : "");
	if (f->rejected)
		printf("   (%ld rejected)", f->rejected);
	printf("\n");
}

static void summary(const char *metric, double v, double floor)
{
	printf("summary: %s | %.0f MB/s | >= %.0f MB/s | %s\n", metric, v, floor,
	       v >= floor ? "ok" : "below floor");
}

/* ---- correctness matrix -------------------------------------------------------------- */

/* What one library does with an input that matters for FHIR. */
enum { NO = 0, YES = 1, NA = 2 };
static const char *yn(int v)
{
	return v == YES ? "yes" : v == NO ? "NO" : "n/a";
}

typedef struct facts {
	int decimals; /* 1.50 kept as written */
	int bigint;   /* a 30-digit integer (beyond 64 bits) kept as written */
	int nul;      /* "a\u0000b" decoded to 3 bytes */
	int utf8;     /* invalid UTF-8 rejected */
	int dup;      /* duplicate key rejected */
	int deep;     /* 10,000 levels of nesting rejected (a cap) */
} facts_t;

static const char T_NUM[] = "{\"v\":1.50,\"i\":123456789012345678901234567890}";
static const char T_NUL[] = "[\"a\\u0000b\"]";
static const char T_UTF8[] = "[\"\xC3\x28\"]";
static const char T_DUP[] = "{\"a\":1,\"a\":2}";
static char *t_deep;
static size_t t_deep_n;

static int accepts(engine_fn fn, const char *p, size_t n)
{
	/* The matrix inputs are NUL-terminated, as yajl's tree API needs. */
	size_t o = 0;
	return fn(p, n, &o) == 0;
}

static void facts_common(engine_fn fn, facts_t *f)
{
	f->utf8 = accepts(fn, T_UTF8, sizeof T_UTF8 - 1) ? NO : YES;
	f->dup = accepts(fn, T_DUP, sizeof T_DUP - 1) ? NO : YES;
	f->deep = accepts(fn, t_deep, t_deep_n) ? NO : YES;
}

static int has_decimal(const char *s, size_t n)
{
	return s && memmem(s, n, "1.50", 4) != NULL;
}

static int has_bigint(const char *s, size_t n)
{
	return s && memmem(s, n, "123456789012345678901234567890", 30) != NULL;
}

static void facts_ours(facts_t *f)
{
	jl_json_t *v;
	jl_json_err_t e;
	jl_arena_reset(arena);
	jl_buf_clear(&wbuf);
	int ok = jl_json_parse(arena, T_NUM, sizeof T_NUM - 1, NULL, &v, &e) == JL_OK &&
		 jl_json_write(&wbuf, v, 0) == JL_OK;
	f->decimals = ok && has_decimal(wbuf.p, wbuf.n);
	f->bigint = ok && has_bigint(wbuf.p, wbuf.n);
	f->nul = jl_json_parse(arena, T_NUL, sizeof T_NUL - 1, NULL, &v, &e) == JL_OK && v->u.a[0].n == 3;
	facts_common(our_parse, f);
}

#ifdef HAVE_JSONC
static void facts_jsonc(facts_t *f)
{
	struct json_object *o = jsonc_tree(T_NUM, sizeof T_NUM - 1);
	size_t len = 0;
	const char *s = o ? jc.to_string_length(o, JSON_C_TO_STRING_PLAIN, &len) : NULL;
	f->decimals = has_decimal(s, len);
	f->bigint = has_bigint(s, len);
	if (o)
		jc.put(o);
	o = jsonc_tree(T_NUL, sizeof T_NUL - 1);
	f->nul = o && jc.get_string_len(jc.array_get_idx(o, 0)) == 3;
	if (o)
		jc.put(o);
	facts_common(jsonc_parse, f);
}
#endif

#ifdef HAVE_CJSON
static void facts_cjson(facts_t *f)
{
	cJSON *o = cj.parse(T_NUM, sizeof T_NUM - 1);
	char *s = o ? cj.print(o) : NULL;
	f->decimals = has_decimal(s, s ? strlen(s) : 0);
	f->bigint = has_bigint(s, s ? strlen(s) : 0);
	if (s)
		cj.free(s);
	if (o)
		cj.del(o);
	o = cj.parse(T_NUL, sizeof T_NUL - 1);
	cJSON *it = o ? cj.item(o, 0) : NULL;
	/* cJSON strings are NUL-terminated C strings: the length is where the first NUL is. */
	f->nul = it && it->valuestring && strlen(it->valuestring) == 3;
	if (o)
		cj.del(o);
	facts_common(cjson_parse, f);
}
#endif

#ifdef HAVE_YAJL
static void facts_yajl_tree(facts_t *f)
{
	char err[128];
	yajl_val v = yj.tree_parse(T_NUM, err, sizeof err);
	const char *pv[] = {"v", NULL}, *pi[] = {"i", NULL};
	yajl_val a = v ? yj.tree_get(v, pv, yajl_t_number) : NULL;
	yajl_val b = v ? yj.tree_get(v, pi, yajl_t_number) : NULL;
	/* The tree keeps each number's text in u.number.r. */
	f->decimals = a && strcmp(a->u.number.r, "1.50") == 0;
	f->bigint = b && strcmp(b->u.number.r, "123456789012345678901234567890") == 0;
	if (v)
		yj.tree_free(v);
	v = yj.tree_parse(T_NUL, err, sizeof err);
	/* yajl strings are NUL-terminated C strings. */
	f->nul = v && YAJL_IS_ARRAY(v) && v->u.array.len == 1 && YAJL_IS_STRING(v->u.array.values[0]) &&
		 strlen(v->u.array.values[0]->u.string) == 3;
	if (v)
		yj.tree_free(v);
	facts_common(yajl_tree, f);
}

static void facts_yajl_sax(facts_t *f)
{
	f->decimals = f->bigint = NA; /* no values without callbacks */
	f->nul = NA;
	facts_common(yajl_sax, f);
}
#endif

#ifdef HAVE_JSMN
static void facts_jsmn(facts_t *f)
{
	f->decimals = f->bigint = YES; /* tokens are offsets into the text */
	f->nul = NA;		       /* a tokenizer: strings are not decoded */
	facts_common(jsmn_run, f);
}
#endif

static void fact_row(const char *name, int present, void (*fn)(facts_t *))
{
	if (!present) {
		printf("  %-30s not installed\n", name);
		return;
	}
	facts_t f;
	fn(&f);
	printf("  %-30s %-9s %-11s %-9s %-10s %-10s %-10s\n", name, yn(f.decimals), yn(f.bigint), yn(f.nul),
	       yn(f.utf8), yn(f.dup), yn(f.deep));
}

/* ---- loading the libraries ----------------------------------------------------------- */

static void *open_lib(const char *a, const char *b)
{
	void *h = dlopen(a, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (!h)
		h = dlopen(b, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	return h;
}

#define SYM(lib, field, name)                                                                                \
	do {                                                                                                 \
		lib.field = (__typeof__(lib.field))dlsym(lib.h, name);                                       \
		if (!lib.field) {                                                                            \
			fprintf(stderr, "json_bench: %s has no %s\n", #lib, name);                           \
			lib.h = NULL;                                                                        \
		}                                                                                            \
	} while (0)

static void load_libs(void)
{
#ifdef HAVE_JSONC
	/* json-c first (see the file comment). */
	jc.h = open_lib("libjson-c.so.5", "libjson-c.so");
	if (jc.h) {
		SYM(jc, tokener_new_ex, "json_tokener_new_ex");
		SYM(jc, tokener_free, "json_tokener_free");
		SYM(jc, tokener_reset, "json_tokener_reset");
		SYM(jc, tokener_set_flags, "json_tokener_set_flags");
		SYM(jc, tokener_parse_ex, "json_tokener_parse_ex");
		SYM(jc, tokener_get_error, "json_tokener_get_error");
		SYM(jc, put, "json_object_put");
		SYM(jc, to_string_length, "json_object_to_json_string_length");
		SYM(jc, get_string_len, "json_object_get_string_len");
		SYM(jc, array_get_idx, "json_object_array_get_idx");
		SYM(jc, version, "json_c_version");
	}
	if (jc.h) {
		jc.tok = jc.tokener_new_ex(DEPTH);
		jc.tokener_set_flags(jc.tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	}
#endif
#ifdef HAVE_CJSON
	cj.h = open_lib("libcjson.so.1", "libcjson.so");
	if (cj.h) {
		SYM(cj, parse, "cJSON_ParseWithLength");
		SYM(cj, del, "cJSON_Delete");
		SYM(cj, print, "cJSON_PrintUnformatted");
		SYM(cj, free, "cJSON_free");
		SYM(cj, version, "cJSON_Version");
		SYM(cj, item, "cJSON_GetArrayItem");
	}
#endif
#ifdef HAVE_YAJL
	yj.h = open_lib("libyajl.so.2", "libyajl.so");
	if (yj.h) {
		SYM(yj, tree_parse, "yajl_tree_parse");
		SYM(yj, tree_free, "yajl_tree_free");
		SYM(yj, tree_get, "yajl_tree_get");
		SYM(yj, alloc, "yajl_alloc");
		SYM(yj, parse, "yajl_parse");
		SYM(yj, complete, "yajl_complete_parse");
		SYM(yj, free, "yajl_free");
		SYM(yj, version, "yajl_version");
	}
#endif
}

int main(int argc, char **argv)
{
	const char *size = getenv("BENCH_SIZE");
	const char *dir = "node_modules/hl7.fhir.r4.examples";
	const char *parts = "pvwcm";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "small") == 0 || strcmp(argv[i], "full") == 0)
			size = argv[i];
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: json_bench [small|full] [PARTS] [EXAMPLES_DIR]\n");
			return 2;
		} else if (!strchr(argv[i], '/') && strspn(argv[i], "pvwcm") == strlen(argv[i]))
			parts = argv[i];
		else
			dir = argv[i];
	}
	int do_p = strchr(parts, 'p') != NULL, do_v = strchr(parts, 'v') != NULL,
	    do_w = strchr(parts, 'w') != NULL;
	int do_c = strchr(parts, 'c') != NULL, do_m = strchr(parts, 'm') != NULL;
	int small = size && strcmp(size, "small") == 0;
	runs = small ? 3 : 5;

	machine();
	corpus_t c;
	if (load_corpus(dir, small, &c) != 0) {
		fprintf(stderr, "json_bench: no FHIR examples in %s (run scripts/deps.sh: npm ci)\n", dir);
		return 1;
	}
	char bpath[4096];
	snprintf(bpath, sizeof bpath, "%s/Bundle-resources.json", dir);
	doc_t bundle = {.name = "Bundle-resources.json"};
	if (load_file(bpath, &bundle) != 0) {
		fprintf(stderr, "json_bench: cannot read %s\n", bpath);
		return 1;
	}
	arena = jl_arena_new(0, 0);
	jl_buf_init(&wbuf, JL_MEM_MISC, 0);
	if (!arena)
		return 1;
	load_libs();

	printf("json_bench: size %s, median of %d runs; MB = 10^6 bytes\n", small ? "small" : "full", runs);
	printf("corpus: %zu example files%s, %.1f MB (%zu files <= 64 KiB: %.1f MB); bundle %s %.1f MB\n",
	       c.n, small ? " (every k-th of the sorted list)" : " (all)", c.bytes / 1e6, c.nsmall,
	       c.small_bytes / 1e6, bundle.name, bundle.n / 1e6);
	printf("documents: each file parsed separately, arena reset (or tree freed) between documents\n\n");

	fig_t f_parse = {0}, f_valid = {0}, f_write = {0};
	fig_t f_jc = {0}, f_jcw = {0}, f_cj = {0}, f_cjw = {0}, f_yt = {0}, f_ys = {0}, f_jm = {0};
	if (do_p)
		measure("jl_json_parse", our_parse, &c, &bundle, &f_parse);
	if (do_v)
		measure("jl_fhir_validate", our_validate, &c, &bundle, &f_valid);
	if (do_w)
		measure_write("jl_json_write", our_write, &c, &bundle, &f_write);
#ifdef HAVE_JSONC
	if (jc.h && do_c) {
		measure("json-c", jsonc_parse, &c, &bundle, &f_jc);
		measure_write("json-c write", jsonc_write, &c, &bundle, &f_jcw);
	}
#endif
#ifdef HAVE_CJSON
	if (cj.h && do_c) {
		measure("cJSON", cjson_parse, &c, &bundle, &f_cj);
		measure_write("cJSON write", cjson_write, &c, &bundle, &f_cjw);
	}
#endif
#ifdef HAVE_YAJL
	if (yj.h && do_c) {
		measure("yajl tree", yajl_tree, &c, &bundle, &f_yt);
		measure("yajl validate", yajl_sax, &c, &bundle, &f_ys);
	}
#endif
#ifdef HAVE_JSMN
	if (do_c)
		measure("jsmn", jsmn_run, &c, &bundle, &f_jm);
#endif

	char v_jc[64] = "json-c", v_cj[64] = "cJSON", v_yj[64] = "yajl";
#ifdef HAVE_JSONC
	if (jc.h)
		snprintf(v_jc, sizeof v_jc, "json-c %s", jc.version());
#endif
#ifdef HAVE_CJSON
	if (cj.h)
		snprintf(v_cj, sizeof v_cj, "cJSON %s", cj.version());
#endif
#ifdef HAVE_YAJL
	if (yj.h) {
		int v = yj.version();
		snprintf(v_yj, sizeof v_yj, "yajl %d.%d.%d", v / 10000, v / 100 % 100, v % 100);
	}
#endif
	char name[96];
	int have_jc = 0, have_cj = 0, have_yj = 0, have_jm = 0;
#ifdef HAVE_JSONC
	have_jc = jc.h != NULL;
#endif
#ifdef HAVE_CJSON
	have_cj = cj.h != NULL;
#endif
#ifdef HAVE_YAJL
	have_yj = yj.h != NULL;
#endif
#ifdef HAVE_JSMN
	have_jm = 1;
#endif
	printf("MB/s (median)                                   documents  <=64 KiB     bundle\n");
	if (do_p || do_c)
		printf("parse (MB/s of input)\n");
	row("jianlian jl_json_parse", &f_parse, FLOOR_PARSE, 1);
	snprintf(name, sizeof name, "%s tokener, strict + UTF-8", v_jc);
	row(name, &f_jc, 0, have_jc || !do_c);
	snprintf(name, sizeof name, "%s ParseWithLength", v_cj);
	row(name, &f_cj, 0, have_cj || !do_c);
	snprintf(name, sizeof name, "%s tree (yajl_tree_parse)", v_yj);
	row(name, &f_yt, 0, have_yj || !do_c);
	snprintf(name, sizeof name, "%s validate only (no callbacks)", v_yj);
	row(name, &f_ys, 0, have_yj || !do_c);
	row("jsmn 1.1 (parent links, strict; no tree)", &f_jm, 0, have_jm || !do_c);
	if (do_v) {
		printf("parse + FHIR validation (MB/s of input)\n");
		row("jianlian parse + jl_fhir_validate", &f_valid, 0, 1);
	}
	if (do_w || do_c)
		printf("serialise, compact (MB/s of output; write only)\n");
	row("jianlian jl_json_write", &f_write, 0, 1);
	snprintf(name, sizeof name, "%s to_json_string PLAIN", v_jc);
	row(name, &f_jcw, 0, have_jc || !do_c);
	snprintf(name, sizeof name, "%s PrintUnformatted", v_cj);
	row(name, &f_cjw, 0, have_cj || !do_c);
	if (do_v)
		printf("validation: %ld of %zu documents (and the bundle) have FHIR validation errors "
		       "(counted, not "
		       "failures)\n",
		       invalid_docs, c.n);

	/* Correctness matrix. */
	if (!do_m)
		goto verdict;
	t_deep_n = 20000;
	t_deep = xmalloc(t_deep_n + 1);
	memset(t_deep, '[', t_deep_n / 2);
	memset(t_deep + t_deep_n / 2, ']', t_deep_n / 2);
	t_deep[t_deep_n] = 0;
	printf("\nwhat each library does with FHIR-relevant input (measured now)\n");
	printf("  %-30s %-9s %-11s %-9s %-10s %-10s %-10s\n", "", "\"1.50\"", "30-digit", "\"\\u0000\"",
	       "bad UTF-8", "dup keys", "10k deep");
	printf("  %-30s %-9s %-11s %-9s %-10s %-10s %-10s\n", "", "kept", "int kept", "kept", "rejected",
	       "rejected", "rejected");
	fact_row("jianlian", 1, facts_ours);
#ifdef HAVE_JSONC
	fact_row(v_jc, jc.h != NULL, facts_jsonc);
#else
	fact_row("json-c", 0, NULL);
#endif
#ifdef HAVE_CJSON
	fact_row(v_cj, cj.h != NULL, facts_cjson);
#else
	fact_row("cJSON", 0, NULL);
#endif
#ifdef HAVE_YAJL
	snprintf(name, sizeof name, "%s tree", v_yj);
	fact_row(name, yj.h != NULL, facts_yajl_tree);
	snprintf(name, sizeof name, "%s validate only", v_yj);
	fact_row(name, yj.h != NULL, facts_yajl_sax);
#else
	fact_row("yajl", 0, NULL);
#endif
#ifdef HAVE_JSMN
	fact_row("jsmn (strict)", 1, facts_jsmn);
#else
	fact_row("jsmn", 0, NULL);
#endif

verdict:
	printf("\n");
	/* What does not work makes the run fail; a low figure never does. */
	if (f_write.rejected) {
		fprintf(stderr, "json_bench: FAILED: jl_json_write failed or did not round-trip\n");
		failed = 1;
	}
	if (f_parse.rejected > 0) {
		/* The official examples are well-formed JSON; a rejection is a bug in our parser. */
		fprintf(stderr, "json_bench: FAILED: jl_json_parse rejected %ld official examples\n",
			f_parse.rejected);
		failed = 1;
	}
	if (do_p) {
		summary("JSON parse, documents (each file)", f_parse.all, FLOOR_PARSE);
		summary("JSON parse, documents <= 64 KiB", f_parse.small, FLOOR_PARSE);
		summary("JSON parse, one 35 MB bundle", f_parse.bundle, FLOOR_PARSE);
	}
	if (do_v)
		printf("summary: JSON parse + FHIR validation, documents | %.0f MB/s | - | info\n",
		       f_valid.all);
	if (do_w)
		printf("summary: JSON serialise, documents | %.0f MB/s | - | info\n", f_write.all);
	return failed;
}
