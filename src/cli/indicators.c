/*
 * indicators — `jianlian indicators --region CODE --period YEAR`: the whole
 * indicator catalogue (monitor/catalog.h) for one region and year, computed
 * from a data directory through the facts projection kept there
 * (monitor/project.h: only what was written since the last run is read;
 * --scan reads the whole store instead), as JSON (the form the dashboard
 * and the annual report build on) or a table.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/time.h"
#include "cli/cli.h"
#include "monitor/engine.h"
#include "monitor/project.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: jianlian indicators --region CODE --period YEAR [options]\n"
		   "\n"
		   "Computes the indicator catalogue (基本公卫 indicators, 14th Five-Year Plan main indicators)\n"
		   "for a region and a reporting year, with numerators, denominators, values, 95%% confidence\n"
		   "intervals, targets, gaps, strata by sex and age band, and the sub-regions.\n"
		   "\n"
		   "Options:\n"
		   "  --region CODE      division code: prefecture (532900), county (532901), township (9 digits)\n"
		   "                     or village (12 digits); a province code (530000) gives the whole\n"
		   "                     province, every prefecture in it\n"
		   "  --period YEAR      reporting year (calendar year; 妇幼 indicators use Oct-Sep)\n"
		   "  --data DATA        data directory (default ./var/jianlian)\n"
		   "  --format F         json (default) or table\n"
		   "  --indicator ID     only this indicator\n"
		   "  --targets FILE     extra target rows ({\"targets\": [...]}, regional overrides)\n"
		   "  --catalog FILE     replaces the built-in catalogue (data/indicators.json)\n"
		   "  --scan             read every resource of the store instead of the facts projection\n"
		   "                     (DATA/indicators.facts, refreshed with what was written since)\n"
		   "  --help             print this help and exit\n"
		   "\n"
		   "Exit codes: 0 success, 1 failure (data directory unreadable, bad catalogue or targets file),\n"
		   "2 usage error (bad option, unknown region or indicator).\n");
}

static void print_value(const jl_result_t *r)
{
	if (!r->has_value)
		printf("%12s", "-");
	else
		printf("%12.2f", r->value);
}

static void table(const jl_cube_t *c, uint32_t node, const char *only)
{
	const jl_region_node_t *nd = &c->reg->nodes[node];
	printf("%s %s — %d\n\n", nd->code, nd->name, c->year);
	printf("%-34s %10s %10s %12s %21s %10s %8s\n", "indicator", "numerator", "denominator", "value", "95% CI",
	       "target", "gap");
	for (uint32_t i = 0; i < c->cat->ninds; i++) {
		const jl_indicator_t *ind = &c->cat->inds[i];
		if (only && strcmp(only, ind->id))
			continue;
		jl_result_t r;
		jl_engine_result(c, i, node, 0, -1, &r);
		if (ind->method == JL_METHOD_AGGREGATE && !r.has_value && !r.target)
			continue;
		printf("%-34s %10lld %10lld ", ind->id, (long long)r.num, (long long)r.den);
		print_value(&r);
		if (r.has_value && isfinite(r.lo))
			printf("  [%8.2f, %8.2f]", r.lo, r.hi);
		else
			printf("  %19s", "");
		if (r.target && r.target->has_value)
			printf(" %10.2f", r.target_value);
		else
			printf(" %10s", "-");
		if (r.has_gap)
			printf(" %+8.2f%s", r.gap, r.met == 1 ? " met" : r.met == 0 ? " missed" : "");
		printf("  %s%s", ind->unit, r.suppressed ? " (small numbers)" : "");
		if (r.target && (r.target->kind == JL_T_ANNUAL || r.target->kind == JL_T_INCREASING)) {
			/* a target against last year: the target column is the change asked a year */
			printf("  [%s", r.target->kind == JL_T_ANNUAL ? "per year" : "increasing");
			if (r.has_prev)
				printf(", change %+.2f%s", r.change, r.met == 1 ? " met" : r.met == 0 ? " missed" : "");
			if (r.has_path)
				printf(", path %.2f%s", r.path, r.on_track == 1 ? " on track" : r.on_track == 0 ? " off track" : "");
			printf("]");
		}
		printf("\n");
	}
}

/*
 * The facts for reg: from the projection of the data directory (refreshed
 * first), or with scan from one scan of the store. Says on stderr what was
 * read. On failure the diagnostics are printed and f is left disposed.
 */
static jl_rc read_facts(jl_store_t *s, const char *data, bool scan, const jl_catalog_t *cat, const jl_regions_t *reg,
			jl_facts_t *f, jl_diag_t *d)
{
	if (!scan)
		return jl_cli_project_facts("indicators", true, s, data, cat, reg, f, d);
	jl_rc rc = jl_facts_init(f, cat, reg);
	if (!rc)
		rc = jl_facts_scan(f, s, d);
	if (rc) {
		jl_facts_dispose(f);
		jl_cli_print_diag(d);
		return rc;
	}
	fprintf(stderr, "jianlian indicators: scan: %lld resources read (%lld skipped)\n", (long long)f->resources,
		(long long)f->skipped);
	return JL_OK;
}

jl_rc jl_cli_project_facts(const char *cmd, bool verbose, jl_store_t *s, const char *data, const jl_catalog_t *cat,
			   const jl_regions_t *reg, jl_facts_t *f, jl_diag_t *d)
{
	jl_proj_t *p = NULL;
	jl_proj_stats_t st;
	jl_rc rc = jl_proj_open(data, cat, &p);
	if (!rc)
		rc = jl_proj_refresh(p, s, &st, d);
	if (!rc)
		rc = jl_proj_facts(p, reg, f);
	if (!rc && verbose && st.rebuilt)
		fprintf(stderr, "jianlian %s: facts projection rebuilt (%s): %lld resources read, %lld rows%s\n", cmd,
			st.why, (long long)st.scanned, (long long)st.rows, st.saved ? ", saved" : "");
	else if (!rc && verbose)
		fprintf(stderr, "jianlian %s: facts projection: %lld versions read since the last refresh, %lld rows%s\n",
			cmd, (long long)st.versions, (long long)st.rows, st.saved ? ", saved" : "");
	if (d->n) /* errors, or a warning that the file could not be written */
		jl_cli_print_diag(d);
	jl_proj_free(p);
	return rc;
}

int jl_cmd_indicators(int argc, char **argv)
{
	static const struct option lo[] = {
		{"region", required_argument, NULL, 'r'}, {"period", required_argument, NULL, 'p'},
		{"data", required_argument, NULL, 'd'},   {"format", required_argument, NULL, 'f'},
		{"indicator", required_argument, NULL, 'i'}, {"targets", required_argument, NULL, 't'},
		{"catalog", required_argument, NULL, 'c'}, {"scan", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *region = NULL, *period = NULL, *data = "var/jianlian", *format = "json", *only = NULL,
		   *targets = NULL, *catalog = NULL;
	bool scan = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': region = optarg; break;
		case 'p': period = optarg; break;
		case 'd': data = optarg; break;
		case 'f': format = optarg; break;
		case 'i': only = optarg; break;
		case 't': targets = optarg; break;
		case 'c': catalog = optarg; break;
		case 's': scan = true; break;
		case 'h': usage(stdout); return JL_EXIT_OK;
		default: usage(stderr); return JL_EXIT_USAGE;
		}
	}
	if (optind < argc || !region || !period) {
		fprintf(stderr, "jianlian indicators: --region and --period are required\n");
		usage(stderr);
		return JL_EXIT_USAGE;
	}
	int32_t year;
	if (!jl_cli_parse_year("indicators", "period", period, &year))
		return JL_EXIT_USAGE;
	if (strcmp(format, "json") && strcmp(format, "table")) {
		fprintf(stderr, "jianlian indicators: --format must be json or table\n");
		return JL_EXIT_USAGE;
	}
	uint32_t pref = jl_regions_pref_of(jl_cstr(region));
	size_t rl = strlen(region);
	if (!pref || (rl != 2 && rl != 4 && rl != 6 && rl != 9 && rl != 12)) {
		fprintf(stderr, "jianlian indicators: --region must be a division code (6, 9 or 12 digits), got '%s'\n",
			region);
		return JL_EXIT_USAGE;
	}
	int ex = JL_EXIT_FAIL;
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_catalog_t cat;
	jl_regions_t reg;
	jl_facts_t f;
	bool facts = false;
	jl_store_t *s = NULL;
	jl_cube_t *cube = NULL;
	char *text = NULL;
	size_t n = 0;
	if (catalog && !(text = jl_cli_read_file(catalog, &n))) {
		fprintf(stderr, "jianlian indicators: cannot read %s\n", catalog);
		goto out;
	}
	if (jl_catalog_load(a, text ? jl_str(text, n) : JL_STR_NULL, &cat, &d)) {
		fprintf(stderr, "jianlian indicators: bad catalogue %s\n", catalog ? catalog : "(built-in)");
		jl_cli_print_diag(&d);
		goto out;
	}
	jl_free(JL_MEM_MISC, text);
	text = NULL;
	if (targets) {
		if (!(text = jl_cli_read_file(targets, &n))) {
			fprintf(stderr, "jianlian indicators: cannot read %s\n", targets);
			goto out;
		}
		if (jl_catalog_add_targets(a, &cat, jl_str(text, n), &d)) {
			fprintf(stderr, "jianlian indicators: bad targets file %s\n", targets);
			jl_cli_print_diag(&d);
			goto out;
		}
	}
	if (only && !jl_catalog_find(&cat, jl_cstr(only))) {
		fprintf(stderr, "jianlian indicators: no indicator '%s' in the catalogue\n", only);
		ex = JL_EXIT_USAGE;
		goto out;
	}
	if (jl_regions_load_any(a, pref, &reg, &d)) {
		fprintf(stderr, "jianlian indicators: unknown region %s\n", region);
		jl_cli_print_diag(&d);
		ex = JL_EXIT_USAGE;
		goto out;
	}
	int32_t node = jl_regions_find(&reg, jl_cstr(region));
	if (node < 0) {
		fprintf(stderr, "jianlian indicators: unknown region %s\n", region);
		ex = JL_EXIT_USAGE;
		goto out;
	}
	if (jl_cli_open_data("indicators", data, &s) != JL_EXIT_OK)
		goto out;
	int64_t t0 = jl_mono_ns();
	if (read_facts(s, data, scan, &cat, &reg, &f, &d))
		goto out;
	facts = true;
	int64_t t1 = jl_mono_ns();
	if (jl_engine_compute(&f, year, &cube))
		goto out;
	int64_t t2 = jl_mono_ns();
	fprintf(stderr, "jianlian indicators: %u residents, %u events; facts %.2f s, compute %.2f s\n", f.npersons, f.nevs,
		(double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9);
	if (!strcmp(format, "table")) {
		table(cube, (uint32_t)node, only);
	} else {
		jl_buf_t b;
		jl_buf_init(&b, JL_MEM_MISC, 0);
		jl_jw_t w;
		jl_jw_init(&w, &b, 1);
		jl_engine_json(cube, (uint32_t)node, only, &w);
		jl_buf_putc(&b, '\n');
		if (jl_buf_status(&b) || fwrite(b.p, 1, b.n, stdout) != b.n) {
			jl_buf_dispose(&b);
			goto out;
		}
		jl_buf_dispose(&b);
	}
	ex = fflush(stdout) == 0 ? JL_EXIT_OK : JL_EXIT_FAIL;
out:
	jl_engine_free(cube);
	if (facts)
		jl_facts_dispose(&f);
	jl_store_close(s);
	jl_free(JL_MEM_MISC, text);
	jl_arena_free(a);
	return ex;
}
