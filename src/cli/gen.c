/*
 * gen — `jianlian gen`: writes a synthetic prefecture (src/gen) as NDJSON
 * files, one per resource type, plus ground-truth files and a manifest
 * (--out DIR), or loads it straight into a data directory through the bulk
 * ingest path (--into DATA; ground truths then go to DATA/gen-truth/).
 * Progress goes to standard error: a bar on a terminal, a line every 10 %
 * otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "base/version.h"
#include "cli/cli.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "search/index.h"

static void gen_usage(FILE *f)
{
	fprintf(f, "Usage: jianlian gen [options] (--out DIR | --into DATA)\n"
		   "\n"
		   "Generate a synthetic prefecture: institutions, practitioners and residents with\n"
		   "their health records over the years, as FHIR R4. Deterministic: the same options\n"
		   "give the same bytes.\n"
		   "\n"
		   "Options:\n"
		   "  --region CODE      prefecture GB/T 2260 code (default 532900, Dali Bai Autonomous Prefecture)\n"
		   "  --residents N      people on the register at the start (default 20000)\n"
		   "  --years A-B        calendar years to simulate, inclusive (default 2020-2025)\n"
		   "  --seed S           random seed, an unsigned integer (default 1)\n"
		   "  --out DIR          write <Type>.ndjson files, duplicates.tsv, outbreaks.tsv,\n"
		   "                     outbreak_cases.tsv and manifest.json into DIR (created if missing)\n"
		   "  --into DATA        validate and load into the data directory DATA instead\n"
		   "                     (ground truths in DATA/gen-truth/)\n"
		   "  --params FILE      parameter file replacing the built-in data/gen/params.conf\n"
		   "  --batch N          resources per transaction with --into (default 5000)\n"
		   "  --quiet            no progress output\n"
		   "  --help             print this help and exit\n"
		   "\n"
		   "Exit codes: 0 success, 1 failure, 2 usage error.\n");
}

typedef struct outsink {
	const char *dir;
	FILE *f[JL_GEN_NTYPES];
	FILE *t[JL_GEN_NTRUTH];
	char *fbuf[JL_GEN_NTYPES];
	jl_ingest_t *ing;
	jl_arena_t *diag_arena;
	int64_t rejected;
	bool quiet, tty;
	int64_t t0_ns;
	int last_pct;
	jl_rc err;
} outsink_t;

static FILE *open_in(const char *dir, const char *name, char **buf)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f && buf) {
		*buf = jl_malloc(JL_MEM_MISC, 1 << 20);
		if (*buf)
			setvbuf(f, *buf, _IOFBF, 1 << 20);
	}
	return f;
}

static jl_rc put_file(void *arg, jl_gen_rt type, jl_str_t json)
{
	outsink_t *o = arg;
	if (!o->f[type]) {
		char name[64];
		snprintf(name, sizeof name, "%s.ndjson", jl_gen_rt_name(type));
		o->f[type] = open_in(o->dir, name, &o->fbuf[type]);
		if (!o->f[type]) {
			fprintf(stderr, "jianlian gen: cannot write %s/%s: %s\n", o->dir, name, strerror(errno));
			return JL_EIO;
		}
	}
	if (fwrite(json.p, 1, json.n, o->f[type]) != json.n || putc('\n', o->f[type]) == EOF) {
		fprintf(stderr, "jianlian gen: write failed in %s: %s\n", o->dir, strerror(errno));
		return JL_EIO;
	}
	return JL_OK;
}

static jl_rc put_ingest(void *arg, jl_gen_rt type, jl_str_t json)
{
	outsink_t *o = arg;
	(void)type;
	jl_diag_t d;
	jl_diag_init(&d, o->diag_arena);
	jl_rc rc = jl_ingest_add(o->ing, json, &d);
	if (rc == JL_EINVAL || rc == JL_EINVALID) {
		/* A generated resource the server refuses is a bug of the generator: report it, go on. */
		if (o->rejected++ < 10) {
			fprintf(stderr, "jianlian gen: rejected %.*s\n", (int)(json.n > 200 ? 200 : json.n), json.p);
			jl_cli_print_diag(&d);
		}
		rc = JL_OK;
	}
	jl_arena_reset(o->diag_arena);
	if (rc)
		fprintf(stderr, "jianlian gen: store write failed (%s)\n", jl_rc_name(rc));
	return rc;
}

static jl_rc put_truth(void *arg, jl_gen_truth file, jl_str_t line)
{
	outsink_t *o = arg;
	if (!o->t[file]) {
		o->t[file] = open_in(o->dir, jl_gen_truth_name(file), NULL);
		if (!o->t[file]) {
			fprintf(stderr, "jianlian gen: cannot write %s/%s: %s\n", o->dir, jl_gen_truth_name(file),
				strerror(errno));
			return JL_EIO;
		}
	}
	if (fwrite(line.p, 1, line.n, o->t[file]) != line.n || putc('\n', o->t[file]) == EOF)
		return JL_EIO;
	return JL_OK;
}

static void progress(void *arg, int64_t done, int64_t total, int64_t resources)
{
	outsink_t *o = arg;
	if (o->quiet)
		return;
	double secs = (double)(jl_mono_ns() - o->t0_ns) / 1e9;
	int pct = (int)(done * 100 / (total ? total : 1));
	double rate = secs > 0 ? (double)resources / secs : 0;
	double eta = done > 0 ? secs * (double)(total - done) / (double)done : 0;
	if (o->tty) {
		char bar[31];
		int k = pct * 30 / 100;
		for (int i = 0; i < 30; i++)
			bar[i] = i < k ? '#' : '.';
		bar[30] = 0;
		fprintf(stderr, "\r  [%s] %3d%%  %lld/%lld residents  %lld resources  %.0f/s  ETA %.0fs   ", bar, pct,
			(long long)done, (long long)total, (long long)resources, rate, eta);
		if (done >= total)
			fputc('\n', stderr);
	} else if (pct / 10 != o->last_pct / 10 || done >= total) {
		if (pct != o->last_pct)
			fprintf(stderr, "jianlian gen: %d%% (%lld residents, %lld resources, %.0f/s)\n", pct, (long long)done,
				(long long)resources, rate);
	}
	o->last_pct = pct;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	int64_t v;
	if (!jl_str_to_i64(jl_cstr(s), &v) || v < 0)
		return false;
	*out = (uint64_t)v;
	return true;
}

static int mkdir_p(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(path, 0755) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

static void write_manifest(const outsink_t *o, const jl_gen_cfg_t *cfg, const jl_gen_stats_t *st)
{
	FILE *f = open_in(o->dir, "manifest.json", NULL);
	if (!f)
		return;
	fprintf(f, "{\n  \"generator\": \"jianlian gen %s\",\n  \"fhirVersion\": \"4.0.1\",\n", JL_VERSION);
	fprintf(f, "  \"region\": \"%06u\",\n  \"regionName\": \"%s\",\n", cfg->region, st->region_name);
	fprintf(f, "  \"divisions\": {\"counties\": %u, \"townships\": %u, \"villages\": %u},\n", st->counties, st->towns,
		st->villages);
	fprintf(f, "  \"residents\": %lld,\n  \"years\": [%d, %d],\n  \"seed\": %llu,\n", (long long)cfg->residents,
		cfg->year_from, cfg->year_to, (unsigned long long)cfg->seed);
	fprintf(f, "  \"people\": %lld,\n  \"births\": %lld,\n  \"deaths\": %lld,\n  \"duplicates\": %lld,\n",
		(long long)st->residents, (long long)st->births, (long long)st->deaths, (long long)st->duplicates);
	fprintf(f, "  \"outbreaks\": %lld,\n  \"outbreakCases\": %lld,\n  \"resources\": %lld,\n  \"counts\": {",
		(long long)st->outbreaks, (long long)st->outbreak_cases, (long long)st->resources);
	for (int i = 0; i < JL_GEN_NTYPES; i++)
		fprintf(f, "%s\n    \"%s\": %lld", i ? "," : "", jl_gen_rt_name((jl_gen_rt)i), (long long)st->count[i]);
	fprintf(f, "\n  },\n  \"examples\": {");
	for (int i = 0, k = 0; i < JL_GEN_NTYPES; i++)
		if (st->example[i][0])
			fprintf(f, "%s\n    \"%s\": \"%s\"", k++ ? "," : "", jl_gen_rt_name((jl_gen_rt)i), st->example[i]);
	fprintf(f, "\n  },\n  \"counties\": [");
	for (uint32_t c = 0; c < st->counties; c++) {
		fprintf(f, "%s\n    {\"code\": \"%06u\", \"populationShare\": %.4f", c ? "," : "", st->county_code[c],
			st->county_pop_share[c]);
		for (int i = 0; i < JL_GEN_NRATES; i++)
			fprintf(f, ", \"%s\": %.4f", jl_gen_rate_name(i), st->county_rate[c][i]);
		fputc('}', f);
	}
	fprintf(f, "\n  ]\n}\n");
	fclose(f);
}

int jl_cmd_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"region", required_argument, NULL, 'r'}, {"residents", required_argument, NULL, 'n'},
		{"years", required_argument, NULL, 'y'},  {"seed", required_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'},    {"into", required_argument, NULL, 'i'},
		{"params", required_argument, NULL, 'p'}, {"batch", required_argument, NULL, 'b'},
		{"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	jl_gen_cfg_t cfg = {.region = 532900, .residents = 20000, .year_from = 2020, .year_to = 2025, .seed = 1};
	const char *out = NULL, *into = NULL, *params_file = NULL;
	uint64_t batch = 5000, v;
	bool quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!parse_u64(optarg, &v) || v < 110000 || v > 829999 || v % 100) {
				fprintf(stderr, "jianlian gen: --region must be a 6-digit prefecture code ending in 00, e.g. 532900\n");
				return JL_EXIT_USAGE;
			}
			cfg.region = (uint32_t)v;
			break;
		case 'n':
			if (!parse_u64(optarg, &v) || v < 1 || v > 100000000) {
				fprintf(stderr, "jianlian gen: --residents must be 1 to 100000000\n");
				return JL_EXIT_USAGE;
			}
			cfg.residents = (int64_t)v;
			break;
		case 'y': {
			int a, b;
			char extra;
			int k = sscanf(optarg, "%d-%d%c", &a, &b, &extra);
			if (k == 1) {
				b = a;
				k = 2;
			}
			if (k != 2 || a < 1950 || b > 2100 || a > b) {
				fprintf(stderr, "jianlian gen: --years must be YEAR or FIRST-LAST within 1950-2100, e.g. 2020-2025\n");
				return JL_EXIT_USAGE;
			}
			cfg.year_from = a;
			cfg.year_to = b;
			break;
		}
		case 's':
			if (!parse_u64(optarg, &cfg.seed)) {
				fprintf(stderr, "jianlian gen: --seed must be an unsigned integer\n");
				return JL_EXIT_USAGE;
			}
			break;
		case 'o': out = optarg; break;
		case 'i': into = optarg; break;
		case 'p': params_file = optarg; break;
		case 'b':
			if (!parse_u64(optarg, &batch) || batch < 1 || batch > 100000) {
				fprintf(stderr, "jianlian gen: --batch must be 1 to 100000\n");
				return JL_EXIT_USAGE;
			}
			break;
		case 'q': quiet = true; break;
		case 'H': gen_usage(stdout); return JL_EXIT_OK;
		default:
			fprintf(stderr, "jianlian gen: unknown or incomplete option '%s'\n", argv[optind - 1]);
			gen_usage(stderr);
			return JL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jianlian gen: unexpected argument '%s'\n", argv[optind]);
		return JL_EXIT_USAGE;
	}
	if (!out == !into) {
		fprintf(stderr, "jianlian gen: give exactly one of --out DIR or --into DATA\n");
		return JL_EXIT_USAGE;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	int rc = JL_EXIT_FAIL;
	outsink_t o = {.quiet = quiet, .tty = isatty(2), .last_pct = -1, .t0_ns = jl_mono_ns()};
	jl_store_t *store = NULL;
	jl_search_defs_t *defs = NULL;
	jl_gen_params_t params;
	char *ptext = NULL;
	if (params_file) {
		FILE *pf = fopen(params_file, "rb");
		if (!pf) {
			fprintf(stderr, "jianlian gen: cannot read %s: %s\n", params_file, strerror(errno));
			rc = JL_EXIT_USAGE;
			goto out;
		}
		jl_buf_t pb;
		jl_buf_init(&pb, JL_MEM_MISC, 16 << 20);
		char chunk[8192];
		size_t k;
		while ((k = fread(chunk, 1, sizeof chunk, pf)) > 0)
			(void)jl_buf_append(&pb, chunk, k);
		fclose(pf);
		size_t n;
		ptext = jl_buf_take(&pb, &n);
		if (!ptext || jl_gen_params_parse(a, ptext, n, &params, &d) != JL_OK) {
			fprintf(stderr, "jianlian gen: bad parameter file %s\n", params_file);
			jl_cli_print_diag(&d);
			rc = JL_EXIT_USAGE;
			goto out;
		}
		cfg.params = &params;
	}
	char truthdir[4096];
	if (out) {
		o.dir = out;
	} else {
		snprintf(truthdir, sizeof truthdir, "%s/gen-truth", into);
		o.dir = truthdir;
	}
	if (mkdir_p(o.dir)) {
		fprintf(stderr, "jianlian gen: cannot create %s: %s\n", o.dir, strerror(errno));
		goto out;
	}
	if (into) {
		/* A bulk load (docs/internals/store.md): index rows merged in key order at the end. */
		jl_store_cfg_t scfg = {.dir = into, .readers = 1, .bulk = true};
		if (jl_store_open("sqlite", &scfg, &store, &d) != JL_OK) {
			fprintf(stderr, "jianlian gen: cannot open the data directory %s\n", into);
			jl_cli_print_diag(&d);
			goto out;
		}
		/* Index for search as the server does, so the loaded region answers searches at once. */
		if (jl_cli_prepare_index(store, &defs, true, quiet) != JL_EXIT_OK)
			goto out;
		jl_ingest_cfg_t icfg = {.store = store, .defs = defs, .batch = (uint32_t)batch, .assume_new = true};
		o.diag_arena = jl_arena_new(0, 0);
		if (!o.diag_arena || jl_ingest_new(&icfg, &o.ing) != JL_OK)
			goto out;
	}
	if (!quiet)
		fprintf(stderr, "jianlian gen: region %06u, %lld residents, %d-%d, seed %llu → %s\n", cfg.region,
			(long long)cfg.residents, cfg.year_from, cfg.year_to, (unsigned long long)cfg.seed, out ? out : into);
	jl_gen_sink_t sink = {.put = into ? put_ingest : put_file, .truth = put_truth, .progress = progress, .arg = &o};
	jl_gen_stats_t st;
	jl_rc grc = jl_gen_run(&cfg, &sink, &st, &d);
	if (!grc && o.ing)
		grc = jl_ingest_flush(o.ing);
	if (!grc && store) {
		if (!quiet)
			fprintf(stderr, "%sjianlian gen: completing the search index\n", o.tty ? "\n" : "");
		grc = jl_store_finish_load(store);
	}
	if (grc) {
		if (o.tty && !quiet)
			fputc('\n', stderr);
		fprintf(stderr, "jianlian gen: failed (%s)\n", jl_rc_name(grc));
		jl_cli_print_diag(&d);
		rc = grc == JL_EINVAL || grc == JL_ENOTFOUND ? JL_EXIT_USAGE : JL_EXIT_FAIL;
		goto out;
	}
	write_manifest(&o, &cfg, &st);
	double secs = (double)(jl_mono_ns() - o.t0_ns) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	if (!quiet) {
		printf("Generated %s: %u counties, %u townships, %u villages\n", st.region_name, st.counties, st.towns,
		       st.villages);
		printf("  %lld people (%lld births, %lld deaths), %lld organizations, %lld duplicate records, %lld outbreaks "
		       "(%lld cases)\n",
		       (long long)st.residents, (long long)st.births, (long long)st.deaths, (long long)st.organizations,
		       (long long)st.duplicates, (long long)st.outbreaks, (long long)st.outbreak_cases);
		for (int i = 0; i < JL_GEN_NTYPES; i++)
			printf("  %-18s %10lld\n", jl_gen_rt_name((jl_gen_rt)i), (long long)st.count[i]);
		printf("  %-18s %10lld in %.1f s (%.0f resources/s, %.0f residents/s), peak RSS %ld MB\n", "total",
		       (long long)st.resources, secs, (double)st.resources / secs, (double)st.residents / secs,
		       ru.ru_maxrss / 1024);
		if (o.ing) {
			const jl_ingest_stats_t *is = jl_ingest_stats(o.ing);
			printf("  loaded %lld, rejected %lld\n", (long long)is->written, (long long)is->rejected);
		}
	}
	rc = o.rejected ? JL_EXIT_FAIL : JL_EXIT_OK;
out:
	for (int i = 0; i < JL_GEN_NTYPES; i++) {
		if (o.f[i] && fclose(o.f[i]) && rc == JL_EXIT_OK) {
			fprintf(stderr, "jianlian gen: write failed: %s\n", strerror(errno));
			rc = JL_EXIT_FAIL;
		}
		jl_free(JL_MEM_MISC, o.fbuf[i]);
	}
	for (int i = 0; i < JL_GEN_NTRUTH; i++)
		if (o.t[i] && fclose(o.t[i]) && rc == JL_EXIT_OK)
			rc = JL_EXIT_FAIL;
	jl_ingest_free(o.ing);
	jl_store_close(store);
	jl_search_defs_free(defs);
	jl_arena_free(o.diag_arena);
	jl_free(JL_MEM_MISC, ptext);
	jl_arena_free(a);
	return rc;
}
