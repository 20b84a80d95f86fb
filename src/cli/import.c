/*
 * import — `jianlian import FILE|DIR…`: bulk import of NDJSON files
 * (plain, .gz) into a data directory through ingest/import.c. Progress on
 * standard error (a bar with resources/s and ETA on a terminal, a line every
 * 10 % otherwise), a summary on standard output, bad lines in an error file.
 * Resumable: run the same command again after an interruption.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "cli/cli.h"
#include "ingest/import.h"
#include "rest/api.h"
#include "search/defs.h"

/* Exit code when everything ran but some lines were rejected (see the error file). */
#define EXIT_REJECTED 3

static void import_usage(FILE *f)
{
	fprintf(f, "Usage: jianlian import [options] FILE|DIR...\n"
		   "\n"
		   "Import FHIR R4 resources from NDJSON files (one resource per line; .ndjson, .jsonl,\n"
		   "and the same gzip-compressed: .ndjson.gz, .jsonl.gz) and JSON files (.json: a Bundle or\n"
		   "one resource) into a data directory. A directory stands for its files of these kinds,\n"
		   "sorted by name (Synthea's hospitalInformation* and practitionerInformation* first).\n"
		   "Every resource is validated and indexed for search; NDJSON resources keep their ids\n"
		   "and are written with update semantics. A transaction or batch Bundle runs as\n"
		   "POST [base] would: urn:uuid fullUrls, conditional references, ifNoneExist; a\n"
		   "transaction is all or nothing (and commits with the import's position).\n"
		   "\n"
		   "A bad line is reported in the error file (file, line, reason, FHIRPath expression;\n"
		   "never the resource itself) while the good lines commit. An interrupted import (Ctrl-C,\n"
		   "kill -9, power loss) resumes where it stopped when the same command runs again;\n"
		   "files already imported completely are skipped.\n"
		   "\n"
		   "Options:\n"
		   "  --data DIR       data directory (default ./var/jianlian; created if missing)\n"
		   "  --errors FILE    error file, NDJSON (default: DIR.import-errors.ndjson next to the data\n"
		   "                   directory, e.g. var/jianlian.import-errors.ndjson)\n"
		   "  --batch N        resources per transaction (default 5000)\n"
		   "  --restart        forget earlier runs of these files: import everything again\n"
		   "  --quiet          no progress output\n"
		   "  --help           print this help and exit\n"
		   "\n"
		   "Exit codes: 0 every line imported, 1 failure (the import stopped or a file could not be\n"
		   "read; what was committed is kept, run again to resume), 2 usage error, 3 done but some\n"
		   "lines were rejected (see the error file).\n");
}

/* ---- Bundle files (".json"): through the FHIR API's batch/transaction engine ---- */

typedef struct bundles {
	jl_api_t api;
	jl_log_t log;
	bool ready;
} bundles_t;

static const char *bundle_header(void *impl, const char *name)
{
	(void)impl;
	return strcasecmp(name, "Content-Type") ? NULL : "application/fhir+json";
}

/* The response's issues (an OperationOutcome, or the failed entries of a batch) into d. */
static int copy_issues(const jl_json_t *oo, const char *prefix, jl_diag_t *d)
{
	int n = 0;
	const jl_json_t *issues = jl_json_get(oo, "issue");
	for (uint32_t i = 0; jl_json_is(issues, JL_JSON_ARRAY) && i < issues->n; i++, n++) {
		const jl_json_t *is = &issues->u.a[i];
		const jl_json_t *ex = jl_json_get(is, "expression");
		jl_str_t expr = jl_json_is(ex, JL_JSON_ARRAY) && ex->n ? jl_json_str(&ex->u.a[0]) : JL_STR_NULL;
		jl_str_t msg = jl_json_str(jl_json_get(is, "diagnostics"));
		char *e = expr.n ? jl_arena_strndup(d->arena, expr.p, expr.n) : NULL;
		jl_diag_err(d, "processing", e, "%s%.*s", prefix, JL_STR_FMT(msg));
	}
	return n;
}

/*
 * A ".json" file: a transaction or batch Bundle runs exactly as POST [base]
 * would (urn:uuid fullUrls, conditional references, ifNoneExist …), and a
 * transaction commits together with the import's position; a collection
 * Bundle's resources and a lone resource go the NDJSON way (ingest).
 */
static jl_rc import_bundle(void *arg, jl_ingest_t *g, jl_str_t json, jl_str_t key, jl_str_t value, jl_diag_t *d)
{
	bundles_t *b = arg;
	jl_arena_t *a = jl_arena_new(1 << 16, (size_t)1 << 30);
	if (!a)
		return JL_ENOMEM;
	jl_rc rc = JL_OK;
	jl_json_t *doc;
	jl_json_err_t je;
	jl_json_opts_t o = {.max_depth = 128};
	if (jl_json_parse(a, json.p, json.n, &o, &doc, &je) != JL_OK) {
		jl_diag_err(d, "structure", NULL, "The file is not valid JSON: %s at line %u, column %u", je.msg, je.line,
			    je.col);
		rc = JL_EINVAL;
		goto out;
	}
	jl_str_t rt = jl_json_str(jl_json_get(doc, "resourceType"));
	jl_str_t type = jl_json_str(jl_json_get(doc, "type"));
	if (!jl_str_eqc(rt, "Bundle") || !(jl_str_eqc(type, "transaction") || jl_str_eqc(type, "batch"))) {
		const jl_json_t *entries = jl_json_get(doc, "entry");
		if (!jl_str_eqc(rt, "Bundle") || !jl_json_is(entries, JL_JSON_ARRAY)) {
			rc = jl_ingest_add(g, json, d);
			goto out;
		}
		/* collection, searchset …: each resource as an NDJSON line would be */
		jl_buf_t t;
		jl_buf_init(&t, JL_MEM_MISC, 0);
		for (uint32_t i = 0; i < entries->n && !rc; i++) {
			const jl_json_t *r = jl_json_get(&entries->u.a[i], "resource");
			if (!r)
				continue;
			jl_buf_clear(&t);
			rc = jl_json_write(&t, r, 0);
			if (!rc)
				rc = jl_ingest_add(g, jl_buf_str(&t), d);
		}
		jl_buf_dispose(&t);
		goto out;
	}
	jl_reqctx_t ctx = {.client = JL_STR("jianlian-import"), .purpose = JL_STR("HOPERAT"), .arena = a};
	snprintf(ctx.request_id, sizeof ctx.request_id, "import");
	jl_http_req_t req = {.ctx = &ctx, .method = JL_M_POST, .method_name = JL_STR("POST"), .path = JL_STR("/fhir"),
			     .base = JL_STR("http://localhost/fhir"), .header = bundle_header, .body = json};
	jl_http_resp_t resp;
	memset(&resp, 0, sizeof resp);
	jl_buf_init(&resp.body, JL_MEM_HTTP, 0);
	jl_write_t mark = {.kind = JL_WRITE_META, .id = key, .body = value};
	jl_api_post_bundle(&b->api, &req, &resp, &mark, 1);
	jl_json_t *ans = NULL;
	jl_json_opts_t ro = {.max_depth = 1024, .flags = JL_JSON_ALLOW_DUP_KEYS};
	jl_str_t body = jl_arena_str(a, jl_buf_str(&resp.body));
	if (!body.p || jl_json_parse(a, body.p, body.n, &ro, &ans, &je) != JL_OK)
		ans = NULL;
	if (resp.status != 200) {
		/* nothing of it was written: the Bundle is rejected with the server's reasons */
		if (!ans || !copy_issues(ans, "", d))
			jl_diag_err(d, "processing", NULL, "The Bundle was refused (HTTP status %d)", resp.status);
		rc = resp.status >= 500 ? JL_EIO : JL_EINVALID;
	} else if (jl_str_eqc(type, "batch")) {
		/* A batch's entries stand alone: the failed ones are reported, the others are written. */
		const jl_json_t *ents = jl_json_get(ans, "entry");
		for (uint32_t i = 0; jl_json_is(ents, JL_JSON_ARRAY) && i < ents->n; i++) {
			const jl_json_t *oo = jl_json_get(jl_json_get(&ents->u.a[i], "response"), "outcome");
			char pre[96];
			snprintf(pre, sizeof pre, "Bundle.entry[%u] (batch; the other entries were written): ", i);
			if (oo && copy_issues(oo, pre, d))
				rc = JL_EINVALID;
		}
	}
	jl_buf_dispose(&resp.body);
out:
	jl_arena_free(a);
	return rc;
}

typedef struct display {
	bool quiet, tty;
	int last_decile;
} display_t;

static void fmt_bytes(char *b, size_t n, int64_t v)
{
	if (v >= (int64_t)1 << 30)
		snprintf(b, n, "%.2f GB", (double)v / (1 << 30));
	else if (v >= 1 << 20)
		snprintf(b, n, "%.1f MB", (double)v / (1 << 20));
	else
		snprintf(b, n, "%lld kB", (long long)(v >> 10));
}

static void show(void *arg, const jl_import_progress_t *p)
{
	display_t *o = arg;
	if (o->quiet)
		return;
	double secs = (double)p->elapsed_ns / 1e9;
	if (p->indexing) {
		fprintf(stderr, "%sjianlian import: %lld resources read in %.0f s; completing the search index\n",
			o->tty ? "\n" : "", (long long)p->read, secs);
		return;
	}
	double frac = p->bytes_total > 0 ? (double)p->bytes_done / (double)p->bytes_total : 1;
	if (frac > 1)
		frac = 1;
	double rate = secs > 0 ? (double)p->read / secs : 0;
	double eta = frac > 0 && !p->final ? secs * (1 - frac) / frac : 0;
	char done[32], total[32];
	fmt_bytes(done, sizeof done, p->bytes_done);
	fmt_bytes(total, sizeof total, p->bytes_total);
	if (o->tty) {
		char bar[31];
		int k = (int)(frac * 30);
		for (int i = 0; i < 30; i++)
			bar[i] = i < k ? '#' : '.';
		bar[30] = 0;
		fprintf(stderr, "\r  [%s] %3d%%  %s/%s  %lld resources  %lld rejected  %.0f/s  ETA %.0fs   ", bar,
			(int)(frac * 100), done, total, (long long)p->read, (long long)p->rejected, rate, eta);
		if (p->final)
			fputc('\n', stderr);
		fflush(stderr);
		return;
	}
	int decile = (int)(frac * 10);
	if (decile != o->last_decile && !p->final) {
		o->last_decile = decile;
		fprintf(stderr, "jianlian import: %d%% (%s of %s, %lld resources, %.0f/s, ETA %.0f s)\n", decile * 10, done,
			total, (long long)p->read, rate, eta);
	}
}

/* The default error file: next to the data directory, named after it. */
static char *default_errors(const char *data)
{
	size_t n = strlen(data);
	while (n > 1 && data[n - 1] == '/')
		n--;
	const char *suffix = ".import-errors.ndjson";
	char *p = jl_malloc(JL_MEM_MISC, n + strlen(suffix) + 1);
	if (p) {
		memcpy(p, data, n);
		memcpy(p + n, suffix, strlen(suffix) + 1);
	}
	return p;
}

static void summary(const jl_import_t *im, const char *errors)
{
	const jl_import_stats_t *st = jl_import_stats(im);
	size_t n = jl_import_nfiles(im);
	for (size_t i = 0; i < n; i++) {
		const jl_import_file_t *f = jl_import_file(im, i);
		const char *state = f->duplicate ? "same content as an earlier file: skipped"
				    : f->skipped  ? "imported before: skipped"
				    : f->error    ? "FAILED"
				    : f->done     ? "done"
						  : "stopped";
		printf("  %s: %lld read, %lld written, %lld rejected", f->path, (long long)f->read, (long long)f->written,
		       (long long)f->rejected);
		if (f->resumed_line && !f->skipped)
			printf(" (resumed after line %lld)", (long long)f->resumed_line);
		printf(" — %s%s%s\n", state, f->error ? ": " : "", f->error ? f->error : "");
	}
	double secs = (double)st->elapsed_ns / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("Imported %lld of %lld resources read (%lld rejected) from %lld file(s) in %.1f s: %.0f resources/s, "
	       "peak RSS %ld MB\n",
	       (long long)st->written, (long long)st->read, (long long)st->rejected, (long long)st->files, secs,
	       secs > 0 ? (double)st->read / secs : 0, ru.ru_maxrss / 1024);
	if (st->errors_bytes)
		printf("Problems are listed in %s\n", errors);
}

int jl_cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},  {"errors", required_argument, NULL, 'e'},
		{"batch", required_argument, NULL, 'b'}, {"restart", no_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},       {"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	const char *data = "var/jianlian", *errors = NULL;
	int64_t batch = 5000;
	bool restart = false, quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'e': errors = optarg; break;
		case 'b':
			if (!jl_str_to_i64(jl_cstr(optarg), &batch) || batch < 1 || batch > 1000000) {
				fprintf(stderr, "jianlian import: --batch must be 1 to 1000000\n");
				return JL_EXIT_USAGE;
			}
			break;
		case 'r': restart = true; break;
		case 'q': quiet = true; break;
		case 'H': import_usage(stdout); return JL_EXIT_OK;
		default:
			fprintf(stderr, "jianlian import: unknown or incomplete option '%s'\n", argv[optind - 1]);
			import_usage(stderr);
			return JL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "jianlian import: give at least one FILE or DIR to import\n");
		import_usage(stderr);
		return JL_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	jl_arena_t *a = jl_arena_new(0, 0);
	char *errpath = errors ? NULL : default_errors(data);
	if (!a || (!errors && !errpath)) {
		jl_arena_free(a);
		jl_free(JL_MEM_MISC, errpath);
		return JL_EXIT_FAIL;
	}
	if (!errors)
		errors = errpath;
	jl_diag_t d;
	jl_diag_init(&d, a);
	int rc = JL_EXIT_FAIL;
	jl_store_t *store = NULL;
	jl_search_defs_t *defs = NULL;
	jl_import_t *im = NULL;
	bundles_t bundles = {0};
	display_t disp = {.quiet = quiet, .tty = isatty(2), .last_decile = -1};
	jl_import_cfg_t cfg = {
		.batch = (uint32_t)batch,
		.restart = restart,
		.errors_path = errors,
		.progress = show,
		.progress_arg = &disp,
	};
	/* Inputs first: a typo in a path is a usage error, found before the store is touched. */
	if (jl_import_new(&cfg, &im) != JL_OK)
		goto out;
	for (int i = optind; i < argc; i++) {
		jl_diag_init(&d, a);
		jl_rc arc = jl_import_add_path(im, argv[i], &d);
		if (arc == JL_ENOMEM)
			goto out;
		if (arc) {
			jl_cli_print_diag(&d);
			rc = JL_EXIT_USAGE;
			goto out;
		}
		if (!quiet)
			jl_cli_print_diag(&d); /* warnings: an empty directory */
	}
	if (!jl_import_nfiles(im)) {
		fprintf(stderr, "jianlian import: nothing to import\n");
		rc = JL_EXIT_USAGE;
		goto out;
	}
	jl_store_cfg_t scfg = {.dir = data, .readers = 2, .bulk = true};
	jl_diag_init(&d, a);
	if (jl_store_open("sqlite", &scfg, &store, &d) != JL_OK) {
		fprintf(stderr, "jianlian import: cannot open the data directory %s\n", data);
		jl_cli_print_diag(&d);
		goto out;
	}
	/* Index for search as the server does, with the store's own custom parameters. */
	if (jl_cli_prepare_index(store, &defs, true, quiet) != JL_EXIT_OK)
		goto out;
	jl_import_free(im);
	im = NULL;
	cfg.store = store;
	cfg.defs = defs;
	jl_log_init(&bundles.log, 2, JL_LOG_WARN);
	jl_api_cfg_t acfg;
	jl_api_cfg_defaults(&acfg);
	acfg.request_timeout_ms = 0;
	if (jl_api_init(&bundles.api, &acfg, store, defs, &bundles.log) != JL_OK)
		goto out;
	bundles.ready = true;
	cfg.bundle = import_bundle;
	cfg.bundle_arg = &bundles;
	if (jl_import_new(&cfg, &im) != JL_OK)
		goto out;
	for (int i = optind; i < argc; i++) {
		jl_diag_init(&d, a);
		if (jl_import_add_path(im, argv[i], &d) != JL_OK) {
			jl_cli_print_diag(&d);
			goto out;
		}
	}
	if (!quiet)
		fprintf(stderr, "jianlian import: %zu file(s) → %s\n", jl_import_nfiles(im), data);
	jl_diag_init(&d, a);
	jl_rc irc = jl_import_run(im, &d);
	if (!quiet || irc)
		jl_cli_print_diag(&d);
	if (!quiet)
		summary(im, errors);
	/* Rejections of earlier runs of a resumed import count too: the error file still lists them. */
	int64_t rejected = 0;
	for (size_t i = 0; i < jl_import_nfiles(im); i++)
		if (!jl_import_file(im, i)->duplicate)
			rejected += jl_import_file(im, i)->rejected;
	rc = irc ? JL_EXIT_FAIL : rejected ? EXIT_REJECTED : JL_EXIT_OK;
out:
	jl_import_free(im);
	if (bundles.ready)
		jl_api_dispose(&bundles.api);
	jl_store_close(store);
	jl_search_defs_free(defs);
	jl_free(JL_MEM_MISC, errpath);
	jl_arena_free(a);
	return rc;
}
