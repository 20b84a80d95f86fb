/*
 * fhirpath_bench — what a FHIRPath evaluation costs on the paths index
 * extraction runs: typical R4 search-parameter expressions, compiled once,
 * evaluated over every official example Observation (parsed once), with
 * the arena reset after each evaluation as the indexer does.
 *
 *   build/bench/fhirpath_bench [small|full]
 * small (default) runs each expression for about 0.2 s; full for 2 s.
 * Prints evaluations per second and nanoseconds per evaluation.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/json.h"
#include "base/time.h"
#include "fhir/fhirpath.h"

#define MAXOBS 512

static const char *const exprs[] = {
	"Observation.status",
	"Observation.code",
	"Observation.subject.where(resolve() is Patient)",
	"(Observation.value as Quantity)",
	"Observation.effective",
	"Observation.code | Observation.component.code",
	"(Observation.value as CodeableConcept).text",
	"Observation.component.value.ofType(Quantity)",
	"AllergyIntolerance.code | AllergyIntolerance.reaction.substance | Condition.code | Observation.code",
};

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
	if (p)
		*n = (size_t)sz;
	return p;
}

int main(int argc, char **argv)
{
	const char *dir = "node_modules/hl7.fhir.r4.examples";
	double secs = argc > 1 && !strcmp(argv[1], "full") ? 2.0 : 0.2;
	jl_arena_t *fa = jl_arena_new(1 << 20, 0);
	const jl_json_t *obs[MAXOBS];
	int nobs = 0;
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "fhirpath_bench: %s not found (run npm ci)\n", dir);
		return 1;
	}
	struct dirent *de;
	size_t bytes = 0;
	while ((de = readdir(d)) && nobs < MAXOBS) {
		if (strncmp(de->d_name, "Observation-", 12) || !strstr(de->d_name, ".json"))
			continue;
		char path[1024];
		size_t n;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		char *text = read_file(fa, path, &n);
		jl_json_t *v;
		jl_json_err_t e;
		if (text && jl_json_parse(fa, text, n, NULL, &v, &e) == JL_OK &&
		    jl_str_eqc(jl_json_str(jl_json_get(v, "resourceType")), "Observation")) {
			obs[nobs++] = v;
			bytes += n;
		}
	}
	closedir(d);
	if (!nobs) {
		fprintf(stderr, "fhirpath_bench: no example Observations\n");
		return 1;
	}
	const jl_fhir_type_t *t = jl_fhir_resource(JL_STR("Observation"));
	printf("fhirpath_bench: %d example Observations (%.1f KB mean), %.1f s per expression\n", nobs,
	       (double)bytes / nobs / 1024, secs);
	printf("%-90s %12s %9s %8s\n", "expression", "evals/s", "ns/eval", "items");
	jl_arena_t *a = jl_arena_new(64 * 1024, 0);
	int status = 0;
	for (size_t k = 0; k < sizeof exprs / sizeof *exprs; k++) {
		jl_fp_expr_t *e;
		jl_diag_t dg;
		jl_diag_init(&dg, fa);
		if (jl_fp_compile(fa, jl_cstr(exprs[k]), &e, &dg) != JL_OK) {
			printf("%-90s does not compile: %s\n", exprs[k], dg.n ? dg.items[0].diag : "?");
			status = 1;
			continue;
		}
		long evals = 0, items = 0;
		int64_t t0 = jl_mono_ns(), t1;
		do {
			for (int i = 0; i < nobs; i++) {
				jl_fp_coll_t out;
				if (jl_fp_eval(a, e, obs[i], t, NULL, &out, NULL) != JL_OK)
					status = 1;
				items += (long)out.n;
				jl_arena_reset(a);
			}
			evals += nobs;
			t1 = jl_mono_ns();
		} while ((double)(t1 - t0) < secs * 1e9);
		double ns = (double)(t1 - t0) / (double)evals;
		printf("%-90s %12.0f %9.1f %8.2f\n", exprs[k], 1e9 / ns, ns, (double)items / (double)evals);
	}
	jl_arena_free(a);
	jl_arena_free(fa);
	return status;
}
