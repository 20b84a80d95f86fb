/*
 * search_bench — server-side search latency on a data directory (normally
 * one `jianlian gen --into` filled), through the whole REST handler
 * (jl_api_handle: query parsing, planning, SQL, bundle serialisation), in
 * process, one request at a time, without HTTP. Each query class runs over
 * values sampled from the data (patients, months, family names) and its
 * median, p90, p99 and max are printed. With --urls FILE it also writes a
 * mixed search workload as request paths, for wrk (scripts/bench.sh).
 *
 *   build/bench/search_bench DATA [--iters N] [--only CLASS] [--urls FILE]
 *
 * Query classes (the figures issue 3 names):
 *   subject_code   Observation?subject=Patient/…&code=http://loinc.org|85354-9
 *   date_token     Observation?code=…|85354-9&date=ge<month>&date=lt<month+1>, first page (20)
 *   include50      Observation?code=…|85354-9&date=ge<month>&_count=50&_include=Observation:subject
 *   everything     Patient/…/$everything?_count=1000 of patients with ~200 resources
 *   condition_subj Condition?subject=Patient/…
 *   encounter_date Encounter?subject=Patient/…&date=ge2023-01-01&_sort=-date
 *   family_gender  Patient?family=<family>&gender=female&_count=20
 *   patient_identifier Patient?identifier=urn:oid:2.16.156.10011.1.3|<citizen id>
 *   medication_recent  MedicationRequest?subject=Patient/…&_sort=-authoredon&_count=10
 *   token_sort     Condition?subject=Patient/…&_sort=code (a computed-key sort)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "cli/cli.h"
#include "rest/api.h"
#include "search/defs.h"
#include "store/store.h"

#define MAXS 4000 /* samples kept per kind */
#define CID_SYSTEM "urn:oid:2.16.156.10011.1.3" /* 公民身份号码 */

typedef struct bench {
	jl_api_t api;
	jl_arena_t *a; /* one request's memory, reset between requests */
} bench_t;

typedef struct answer {
	int status;
	jl_json_t *json; /* parsed when asked */
	int64_t ns;      /* time in jl_api_handle */
	size_t bytes;
} answer_t;

static char *samples_pat[MAXS], *samples_fam[MAXS], *samples_every[MAXS], *samples_cid[MAXS];
static int npat, nfam, nevery, ncid;
static jl_arena_t *keep; /* the samples, for the whole run */
static bool quiet_404; /* probing for what may not exist yet */

static const char *header(void *impl, const char *name)
{
	return strcasecmp(name, "Content-Type") == 0 ? "application/fhir+json" : NULL;
}

/* One request through the handler. `parse`: parse the body into ans->json (in b->a). */
static int call(bench_t *b, jl_method method, const char *url, const char *body, bool parse, answer_t *ans)
{
	jl_arena_reset(b->a);
	memset(ans, 0, sizeof *ans);
	jl_reqctx_t ctx = {.client = JL_STR("bench"), .purpose = JL_STR("HOPERAT"), .arena = b->a};
	snprintf(ctx.request_id, sizeof ctx.request_id, "bench");
	jl_http_req_t req = {.ctx = &ctx, .method = method, .method_name = method == JL_M_GET ? JL_STR("GET") : JL_STR("PUT"),
			     .base = JL_STR("http://bench/fhir"), .header = header,
			     .body = body ? jl_cstr(body) : JL_STR_NULL};
	const char *q = strchr(url, '?');
	jl_str_t raw = jl_str(url, q ? (size_t)(q - url) : strlen(url));
	req.raw_query = q ? jl_cstr(q + 1) : JL_STR_NULL;
	if (!jl_http_unescape(b->a, raw, false, &req.path) || jl_http_parse_query(b->a, req.raw_query, &req) != JL_OK) {
		fprintf(stderr, "search_bench: bad URL %s\n", url);
		return -1;
	}
	jl_http_resp_t resp;
	memset(&resp, 0, sizeof resp);
	jl_buf_init(&resp.body, JL_MEM_HTTP, 0);
	ctx.start_ns = jl_mono_ns();
	jl_api_handle(&b->api, &req, &resp);
	ans->ns = jl_mono_ns() - ctx.start_ns;
	ans->status = resp.status;
	ans->bytes = resp.body.n;
	if (parse && resp.status == 200) {
		jl_json_opts_t o = {.max_depth = 256};
		jl_json_err_t e;
		jl_str_t text = jl_arena_str(b->a, jl_buf_str(&resp.body));
		if (!text.p || jl_json_parse(b->a, text.p, text.n, &o, &ans->json, &e) != JL_OK)
			ans->json = NULL;
	}
	jl_buf_dispose(&resp.body);
	if (ans->status != 200 && ans->status != 201) {
		if (!quiet_404 || ans->status != 404)
			fprintf(stderr, "search_bench: %s answered %d\n", url, ans->status);
		return -1;
	}
	return 0;
}

static int get(bench_t *b, const char *url, bool parse, answer_t *ans)
{
	return call(b, JL_M_GET, url, NULL, parse, ans);
}

static int put(bench_t *b, const char *url, const char *body)
{
	answer_t ans;
	return call(b, JL_M_PUT, url, body, false, &ans);
}

static const jl_json_t *entries(const answer_t *ans)
{
	return ans->json ? jl_json_get(ans->json, "entry") : NULL;
}

static int count_entries(const answer_t *ans)
{
	const jl_json_t *e = entries(ans);
	return jl_json_is(e, JL_JSON_ARRAY) ? (int)e->n : 0;
}

static const jl_json_t *entry_resource(const answer_t *ans, uint32_t i)
{
	const jl_json_t *e = entries(ans);
	return jl_json_get(&e->u.a[i], "resource");
}

static char *dup_str(jl_str_t s)
{
	char *p = jl_arena_strndup(keep, s.p, s.n);
	if (!p)
		abort();
	return p;
}

static bool have(char **list, int n, jl_str_t s)
{
	for (int i = 0; i < n; i++)
		if (strlen(list[i]) == s.n && memcmp(list[i], s.p, s.n) == 0)
			return true;
	return false;
}

/*
 * The generated region's residents have at most ~160 resources each over five
 * years, so the patients $everything is measured on are added here (once per
 * data directory): NEVERY patients with 200 resources each in their compartment
 * — 80 blood-pressure panels, 50 encounters, 30 conditions, 30 prescriptions,
 * 9 immunisations.
 */
#define NEVERY 5
static int add_everything_patients(bench_t *b)
{
	char url[256], body[2048];
	answer_t ans;
	for (int p = 0; p < NEVERY; p++) {
		snprintf(url, sizeof url, "/fhir/Patient/bench-every-%d/$everything?_count=1000", p);
		quiet_404 = true;
		/* total: the compartment's resources, without the patient */
		const jl_json_t *total = call(b, JL_M_GET, url, NULL, true, &ans) == 0 ? jl_json_get(ans.json, "total") : NULL;
		quiet_404 = false;
		if (jl_json_is(total, JL_JSON_NUMBER) && jl_json_str(total).n == 3 && !memcmp(jl_json_str(total).p, "199", 3)) {
			samples_every[nevery++] = dup_str(jl_str(url + 6, strcspn(url + 6, "$") - 1));
			continue;
		}
		snprintf(url, sizeof url, "/fhir/Patient/bench-every-%d", p);
		snprintf(body, sizeof body,
			 "{\"resourceType\":\"Patient\",\"id\":\"bench-every-%d\",\"gender\":\"female\",\"birthDate\":\"1950-03-0%d\","
			 "\"name\":[{\"family\":\"测试\",\"given\":[\"全量%d\"]}]}", p, p + 1, p);
		if (put(b, url, body))
			return -1;
		for (int i = 0; i < 199; i++) {
			const char *pat = url + 6;
			int d = 1 + i % 28, m = 1 + i % 12, y = 2021 + i % 5;
			if (i < 80)
				snprintf(body, sizeof body,
					 "{\"resourceType\":\"Observation\",\"id\":\"bench-every-%d-%d\",\"status\":\"final\","
					 "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":\"vital-signs\"}]}],"
					 "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},\"subject\":{\"reference\":\"%s\"},"
					 "\"effectiveDateTime\":\"%d-%02d-%02dT09:00:00+08:00\",\"component\":["
					 "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":%d,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},"
					 "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},\"valueQuantity\":{\"value\":%d,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}",
					 p, i, pat, y, m, d, 120 + i % 40, 70 + i % 25);
			else if (i < 130)
				snprintf(body, sizeof body,
					 "{\"resourceType\":\"Encounter\",\"id\":\"bench-every-%d-%d\",\"status\":\"finished\","
					 "\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"AMB\"},"
					 "\"subject\":{\"reference\":\"%s\"},\"period\":{\"start\":\"%d-%02d-%02dT09:00:00+08:00\",\"end\":\"%d-%02d-%02dT09:30:00+08:00\"}}",
					 p, i, pat, y, m, d, y, m, d);
			else if (i < 160)
				snprintf(body, sizeof body,
					 "{\"resourceType\":\"Condition\",\"id\":\"bench-every-%d-%d\",\"subject\":{\"reference\":\"%s\"},"
					 "\"code\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/icd-10\",\"code\":\"I1%d\"}]},"
					 "\"recordedDate\":\"%d-%02d-%02d\"}",
					 p, i, pat, i % 6, y, m, d);
			else if (i < 190)
				snprintf(body, sizeof body,
					 "{\"resourceType\":\"MedicationRequest\",\"id\":\"bench-every-%d-%d\",\"status\":\"active\",\"intent\":\"order\","
					 "\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"http://www.whocc.no/atc\",\"code\":\"C09AA0%d\"}]},"
					 "\"subject\":{\"reference\":\"%s\"},\"authoredOn\":\"%d-%02d-%02d\"}",
					 p, i, 1 + i % 9, pat, y, m, d);
			else
				snprintf(body, sizeof body,
					 "{\"resourceType\":\"Immunization\",\"id\":\"bench-every-%d-%d\",\"status\":\"completed\","
					 "\"vaccineCode\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"%d\"}]},"
					 "\"patient\":{\"reference\":\"%s\"},\"occurrenceDateTime\":\"%d-%02d-%02d\"}",
					 p, i, 100 + i, pat, y, m, d);
			char rurl[128];
			const char *type = i < 80 ? "Observation" : i < 130 ? "Encounter" : i < 160 ? "Condition"
				: i < 190 ? "MedicationRequest" : "Immunization";
			snprintf(rurl, sizeof rurl, "/fhir/%s/bench-every-%d-%d", type, p, i);
			if (put(b, rurl, body))
				return -1;
		}
		samples_every[nevery++] = dup_str(jl_cstr(url + 6));
	}
	return 0;
}

/* Patients with blood-pressure panels, sampled over the months; family names of patients. */
static int sample(bench_t *b)
{
	char url[512];
	answer_t ans;
	for (int y = 2020; y <= 2025 && npat < MAXS; y++)
		for (int m = 1; m <= 12 && npat < MAXS; m++) {
			snprintf(url, sizeof url,
				 "/fhir/Observation?code=http://loinc.org%%7C85354-9&date=ge%04d-%02d-01&date=lt%04d-%02d-01"
				 "&_count=100&_elements=subject",
				 y, m, m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
			if (get(b, url, true, &ans))
				return -1;
			for (int i = 0; i < count_entries(&ans) && npat < MAXS; i++) {
				const jl_json_t *s = jl_json_get(jl_json_get(entry_resource(&ans, (uint32_t)i), "subject"), "reference");
				if (jl_json_is(s, JL_JSON_STRING) && !have(samples_pat, npat, jl_json_str(s)))
					samples_pat[npat++] = dup_str(jl_json_str(s));
			}
		}
	if (get(b, "/fhir/Patient?_count=1000&_elements=name,identifier", true, &ans))
		return -1;
	for (int i = 0; i < count_entries(&ans) && nfam < MAXS; i++) {
		const jl_json_t *r = entry_resource(&ans, (uint32_t)i);
		const jl_json_t *n = jl_json_get(r, "name");
		const jl_json_t *f = jl_json_is(n, JL_JSON_ARRAY) && n->n ? jl_json_get(&n->u.a[0], "family") : NULL;
		if (jl_json_is(f, JL_JSON_STRING) && !have(samples_fam, nfam, jl_json_str(f)))
			samples_fam[nfam++] = dup_str(jl_json_str(f));
		const jl_json_t *ids = jl_json_get(r, "identifier");
		for (uint32_t k = 0; jl_json_is(ids, JL_JSON_ARRAY) && k < ids->n && ncid < MAXS; k++) {
			const jl_json_t *sys = jl_json_get(&ids->u.a[k], "system"), *val = jl_json_get(&ids->u.a[k], "value");
			if (jl_json_is(sys, JL_JSON_STRING) && jl_str_eqc(jl_json_str(sys), CID_SYSTEM) &&
			    jl_json_is(val, JL_JSON_STRING))
				samples_cid[ncid++] = dup_str(jl_json_str(val));
		}
	}
	if (add_everything_patients(b))
		return -1;
	printf("samples: %d patients with blood-pressure panels, %d family names, %d citizen ids, %d patients with 200 "
	       "resources each for $everything\n",
	       npat, nfam, ncid, nevery);
	if (npat < 10 || nfam < 3 || ncid < 10) {
		fprintf(stderr, "search_bench: too few samples: is the data directory from jianlian gen?\n");
		return -1;
	}
	return 0;
}

/* The i-th URL of a query class (values cycle through the samples). */
static bool make_url(const char *cls, int i, char *url, size_t n)
{
	const char *pat = samples_pat[(i * 7919) % npat];
	int y = 2021 + (i / 12) % 5, m = 1 + i % 12;
	int y2 = m == 12 ? y + 1 : y, m2 = m == 12 ? 1 : m + 1;
	if (!strcmp(cls, "subject_code"))
		snprintf(url, n, "/fhir/Observation?subject=%s&code=http://loinc.org%%7C85354-9", pat);
	else if (!strcmp(cls, "date_token"))
		snprintf(url, n, "/fhir/Observation?code=http://loinc.org%%7C85354-9&date=ge%04d-%02d-01&date=lt%04d-%02d-01",
			 y, m, y2, m2);
	else if (!strcmp(cls, "include50"))
		snprintf(url, n,
			 "/fhir/Observation?code=http://loinc.org%%7C85354-9&date=ge%04d-%02d-01&_count=50"
			 "&_include=Observation:subject",
			 y, m);
	else if (!strcmp(cls, "everything") && nevery)
		snprintf(url, n, "/fhir/%s/$everything?_count=1000", samples_every[i % nevery]);
	else if (!strcmp(cls, "condition_subj"))
		snprintf(url, n, "/fhir/Condition?subject=%s", pat);
	else if (!strcmp(cls, "encounter_date"))
		snprintf(url, n, "/fhir/Encounter?subject=%s&date=ge2023-01-01&_sort=-date", pat);
	else if (!strcmp(cls, "family_gender"))
		snprintf(url, n, "/fhir/Patient?family=%s&gender=%s&_count=20", samples_fam[i % nfam],
			 i % 2 ? "female" : "male");
	else if (!strcmp(cls, "patient_identifier"))
		snprintf(url, n, "/fhir/Patient?identifier=" CID_SYSTEM "%%7C%s", samples_cid[(i * 31) % ncid]);
	else if (!strcmp(cls, "medication_recent"))
		snprintf(url, n, "/fhir/MedicationRequest?subject=%s&_sort=-authoredon&_count=10", pat);
	else if (!strcmp(cls, "token_sort"))
		snprintf(url, n, "/fhir/Condition?subject=%s&_sort=code", pat);
	else
		return false;
	return true;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

static double pct(const int64_t *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

/* A measured request: not inlined, so a profiler can count what the query classes cost apart from
 * the sampling (valgrind --tool=callgrind --toggle-collect=measured_get). */
__attribute__((noinline)) static int measured_get(bench_t *b, const char *url, bool parse, answer_t *ans)
{
	return get(b, url, parse, ans);
}

static int run_class(bench_t *b, const char *cls, int iters)
{
	char url[512];
	if (!make_url(cls, 0, url, sizeof url)) {
		printf("query %-15s skipped (no samples)\n", cls);
		return 0;
	}
	int64_t *t = jl_malloc(JL_MEM_MISC, (size_t)iters * sizeof *t);
	if (!t)
		abort();
	double results = 0, bytes = 0;
	answer_t ans;
	for (int i = 0; i < iters / 10 + 1; i++) { /* warm-up: the same kind of queries, other values */
		make_url(cls, iters + i, url, sizeof url);
		if (measured_get(b, url, false, &ans))
			return -1;
	}
	for (int i = 0; i < iters; i++) {
		make_url(cls, i, url, sizeof url);
		if (measured_get(b, url, i % 16 == 0, &ans)) {
			jl_free(JL_MEM_MISC, t);
			return -1;
		}
		t[i] = ans.ns;
		bytes += (double)ans.bytes;
		if (i % 16 == 0)
			results += count_entries(&ans);
	}
	qsort(t, (size_t)iters, sizeof *t, cmp_i64);
	make_url(cls, 0, url, sizeof url);
	printf("search-result: name=%s n=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f entries_mean=%.1f "
	       "bytes_mean=%.0f\n  e.g. %s\n",
	       cls, iters, pct(t, iters, 0.5), pct(t, iters, 0.9), pct(t, iters, 0.99), (double)t[iters - 1] / 1e6,
	       results / ((iters + 15) / 16), bytes / iters, url);
	jl_free(JL_MEM_MISC, t);
	return 0;
}

/*
 * The mixed workload for wrk (percentages). A regional platform's searches are
 * mostly about one resident — an institution opening a record, a citizen-ID
 * lookup in the master patient index, a follow-up's readings — with
 * population queries (a month of readings, a family name) a minority.
 */
static int write_urls(const char *path)
{
	static const struct {
		const char *cls;
		int weight;
	} mix[] = {
		{"subject_code", 30},      {"patient_identifier", 15}, {"condition_subj", 15},
		{"encounter_date", 10},    {"medication_recent", 10},  {"everything", 5},
		{"family_gender", 5},      {"date_token", 5},          {"include50", 5},
	};
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	char url[512];
	int k = 0;
	for (int round = 0; round < 20; round++)
		for (size_t c = 0; c < sizeof mix / sizeof *mix; c++)
			for (int w = 0; w < mix[c].weight; w++, k++)
				if (make_url(mix[c].cls, round * 97 + w * 13 + k, url, sizeof url))
					fprintf(f, "%s\n", url);
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *urls = NULL, *only = NULL;
	int iters = 1000;
	int64_t v;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = jl_str_to_i64(jl_cstr(argv[++i]), &v) && v > 0 && v < 10000000 ? (int)v : 0;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--urls") && i + 1 < argc)
			urls = argv[++i];
		else if (argv[i][0] != '-' && !data)
			data = argv[i];
		else {
			fprintf(stderr, "usage: search_bench DATA [--iters N] [--only CLASS] [--urls FILE]\n");
			return 2;
		}
	}
	if (!data || iters < 10) {
		fprintf(stderr, "usage: search_bench DATA [--iters N >= 10] [--urls FILE]\n");
		return 2;
	}
	bench_t b;
	memset(&b, 0, sizeof b);
	b.a = jl_arena_new(1 << 20, 0);
	keep = jl_arena_new(0, 0);
	jl_arena_t *sa = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, sa);
	jl_store_t *store = NULL;
	jl_search_defs_t *defs = NULL;
	jl_log_t log;
	jl_log_init(&log, 2, JL_LOG_WARN);
	jl_store_cfg_t scfg = {.dir = data};
	if (jl_store_open("sqlite", &scfg, &store, &d) != JL_OK) {
		fprintf(stderr, "search_bench: cannot open %s\n", data);
		return 1;
	}
	if (jl_cli_prepare_index(store, &defs, false, true) != 0)
		return 1;
	jl_api_cfg_t acfg;
	jl_api_cfg_defaults(&acfg);
	if (jl_api_init(&b.api, &acfg, store, defs, &log) != JL_OK)
		return 1;
	jl_type_count_t *counts;
	size_t ntypes;
	int64_t total = 0, obs = 0, pats = 0;
	if (jl_store_counts(store, sa, &counts, &ntypes) == JL_OK)
		for (size_t i = 0; i < ntypes; i++) {
			total += counts[i].live;
			if (!strcmp(counts[i].type, "Observation"))
				obs = counts[i].live;
			if (!strcmp(counts[i].type, "Patient"))
				pats = counts[i].live;
		}
	printf("search-data: dir=%s resources=%lld patients=%lld observations=%lld\n", data, (long long)total,
	       (long long)pats, (long long)obs);
	int rc = sample(&b);
	static const char *const classes[] = {"subject_code",   "date_token",        "include50",
					      "everything",     "condition_subj",    "encounter_date",
					      "family_gender",  "patient_identifier", "medication_recent",
					      "token_sort"};
	for (size_t i = 0; !rc && i < sizeof classes / sizeof *classes; i++)
		if (!only || !strcmp(only, classes[i]))
			rc = run_class(&b, classes[i], classes[i][0] == 'e' && classes[i][1] == 'v' ? iters / 4 + 10 : iters);
	if (!rc && urls)
		rc = write_urls(urls);
	jl_api_dispose(&b.api);
	jl_search_defs_free(defs);
	jl_store_close(store);
	jl_arena_free(sa);
	jl_arena_free(b.a);
	jl_arena_free(keep);
	return rc ? 1 : 0;
}
