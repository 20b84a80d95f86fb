/*
 * Every R4 search parameter's FHIRPath expression (node_modules/
 * hl7.fhir.r4.examples/Bundle-searchParams.json) must compile, and must
 * evaluate without error against every official example resource of each
 * of its base types (all *.json examples, grouped by resourceType; the
 * bases Resource and DomainResource take every example). A real-world
 * check of fhir/fhirpath on the expressions index extraction runs.
 *
 * Prints the expressions that do not compile (and why), the evaluations
 * that fail, and a summary; exits non-zero on any failure. Skips (exit 0)
 * when node_modules is missing (`make test` runs `npm ci` first).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/json.h"
#include "fhir/fhirpath.h"

#define MAXRES 8000

typedef struct res {
	const jl_json_t *json;
	const jl_fhir_type_t *type;
	char file[160];
} res_t;

static res_t res[MAXRES];
static int nres;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(jl_arena_t *a, const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = sz >= 0 ? jl_arena_alloc_bytes(a, (size_t)sz + 1) : NULL;
	if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz)
		p = NULL;
	fclose(f);
	if (p) {
		p[sz] = 0;
		*n = (size_t)sz;
	}
	return p;
}

static const char *find_dir(const char *argv0)
{
	static char buf[4096];
	const char *rel = "node_modules/hl7.fhir.r4.examples";
	if (access(rel, R_OK) == 0)
		return rel;
	const char *slash = strrchr(argv0, '/');
	for (int up = 3; slash && up <= 5; up++) {
		int k = snprintf(buf, sizeof buf, "%.*s", (int)(slash - argv0), argv0);
		for (int i = 0; i < up; i++)
			k += snprintf(buf + k, sizeof buf - (size_t)k, "/..");
		snprintf(buf + k, sizeof buf - (size_t)k, "/%s", rel);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

static bool is_base(const jl_fhir_type_t *t, const char *base)
{
	if (!strcmp(base, "Resource"))
		return true;
	if (!strcmp(base, "DomainResource")) {
		for (uint16_t i = 0; i < t->nelems; i++)
			if (!strcmp(t->elems[i].name, "text"))
				return true;
		return false;
	}
	return !strcmp(t->name, base);
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *dir = find_dir(argv[0]);
	if (!dir) {
		printf("ok - SKIP: node_modules/hl7.fhir.r4.examples not found (run npm ci)\n");
		return 0;
	}
	jl_arena_t *fa = jl_arena_new(1 << 20, 0);
	char path[4400];
	size_t n;

	/* The examples, by resource type. */
	DIR *d = opendir(dir);
	if (!d) {
		printf("not ok - cannot open %s\n", dir);
		return 1;
	}
	char **names = NULL;
	size_t nnames = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") || de->d_name[0] < 'A' || de->d_name[0] > 'Z')
			continue;
		if (nnames == cap) {
			cap = cap ? cap * 2 : 1024;
			char **p = jl_arena_alloc(fa, cap * sizeof *p);
			if (nnames)
				memcpy(p, names, nnames * sizeof *p);
			names = p;
		}
		names[nnames++] = jl_arena_strdup(fa, de->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof *names, cmp_names);
	int unreadable = 0;
	for (size_t i = 0; i < nnames && nres < MAXRES; i++) {
		if (!strncmp(names[i], "Bundle-searchParams", 19) || !strcmp(names[i], "package.json"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		char *text = read_file(fa, path, &n);
		jl_json_t *v;
		jl_json_err_t je;
		jl_json_opts_t o = {.max_depth = 512};
		if (!text || jl_json_parse(fa, text, n, &o, &v, &je) != JL_OK) {
			unreadable++;
			continue;
		}
		const jl_fhir_type_t *t = jl_fhir_resource(jl_json_str(jl_json_get(v, "resourceType")));
		if (!t)
			continue;
		res[nres].json = v;
		res[nres].type = t;
		snprintf(res[nres].file, sizeof res[nres].file, "%s", names[i]);
		nres++;
	}

	/* The search parameters. */
	snprintf(path, sizeof path, "%s/Bundle-searchParams.json", dir);
	char *text = read_file(fa, path, &n);
	jl_json_t *bundle;
	jl_json_err_t je;
	if (!text || jl_json_parse(fa, text, n, NULL, &bundle, &je) != JL_OK) {
		printf("not ok - cannot read %s\n", path);
		return 1;
	}
	const jl_json_t *entries = jl_json_get(bundle, "entry");
	int nparams = 0, nexpr = 0, compiled = 0, cfail = 0, efail = 0, nonempty = 0, shown = 0;
	long evals = 0;
	int used[MAXRES] = {0};
	for (uint32_t i = 0; entries && i < entries->n; i++) {
		const jl_json_t *sp = jl_json_get(&entries->u.a[i], "resource");
		if (!jl_str_eqc(jl_json_str(jl_json_get(sp, "resourceType")), "SearchParameter"))
			continue;
		nparams++;
		jl_str_t id = jl_json_str(jl_json_get(sp, "id"));
		jl_str_t expr = jl_json_str(jl_json_get(sp, "expression"));
		if (!expr.n)
			continue;
		nexpr++;
		jl_arena_t *ca = jl_arena_new(0, 0);
		jl_diag_t dg;
		jl_diag_init(&dg, ca);
		jl_fp_expr_t *e;
		jl_rc rc = jl_fp_compile(ca, expr, &e, &dg);
		if (rc) {
			printf("not ok - %.*s does not compile (%s): %s\n    %.*s\n", (int)id.n, id.p, jl_rc_name(rc),
			       dg.n ? dg.items[0].diag : "?", (int)expr.n, expr.p);
			cfail++;
			jl_arena_free(ca);
			continue;
		}
		compiled++;
		const jl_json_t *bases = jl_json_get(sp, "base");
		jl_arena_t *ea = jl_arena_new(0, 0);
		for (int r = 0; r < nres; r++) {
			bool match = false;
			for (uint32_t b = 0; bases && b < bases->n && !match; b++) {
				jl_str_t bs = jl_json_str(&bases->u.a[b]);
				char bn[64];
				snprintf(bn, sizeof bn, "%.*s", (int)bs.n, bs.p);
				match = is_base(res[r].type, bn);
			}
			if (!match)
				continue;
			jl_diag_t ed;
			jl_diag_init(&ed, ea);
			jl_fp_coll_t out;
			rc = jl_fp_eval(ea, e, res[r].json, res[r].type, NULL, &out, &ed);
			evals++;
			used[r] = 1;
			if (rc) {
				efail++;
				if (shown++ < 50)
					printf("not ok - %.*s on %s (%s): %s\n", (int)id.n, id.p, res[r].file, jl_rc_name(rc),
					       ed.n ? ed.items[0].diag : "?");
			} else if (out.n) {
				nonempty++;
			}
			jl_arena_reset(ea);
		}
		jl_arena_free(ea);
		jl_arena_free(ca);
	}
	int nused = 0;
	for (int r = 0; r < nres; r++)
		nused += used[r];
	printf("search parameters: %d with an expression (of %d); compiled %d of %d; %d do not compile\n", nexpr,
	       nparams, compiled, nexpr, cfail);
	printf("evaluated %ld times over %d example resources (%d files unreadable): %d errors, %d non-empty results\n",
	       evals, nused, unreadable, efail, nonempty);
	jl_arena_free(fa);
	if (cfail || efail || !compiled) {
		printf("not ok - fhirpath search parameters\n");
		return 1;
	}
	printf("ok - fhirpath search parameters\n");
	return 0;
}
