/*
 * export_bench — bulk export speed and memory on a data directory (normally
 * made by `jianlian gen --residents N --into DATA`): the same engine as
 * $export and `jianlian export` (search/export.c), files fsync'd as the
 * server does, into a temporary directory removed after each run. Prints
 * resources/s and MB/s per run and level (system, then the Patient
 * compartment of every patient), the medians, and the process's peak RSS
 * (VmHWM), which must stay bounded whatever the size of the data.
 *
 *   build/bench/export_bench DATA [--runs N] [--tmp DIR]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "search/export.h"

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void remove_files(const char *dir)
{
	DIR *d = opendir(dir);
	char p[4096];
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
			unlink(p);
	if (d)
		closedir(d);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int64_t db_bytes(const char *data)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/jianlian.db", data);
	return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *tmp = "/tmp";
	int64_t runs = 3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc && jl_str_to_i64(jl_cstr(argv[i + 1]), &runs) && runs > 0)
			i++;
		else if (!strcmp(argv[i], "--tmp") && i + 1 < argc)
			tmp = argv[++i];
		else if (argv[i][0] != '-' && !data)
			data = argv[i];
		else {
			fprintf(stderr, "usage: export_bench DATA [--runs N] [--tmp DIR]\n");
			return 2;
		}
	}
	if (!data || runs > 20) {
		fprintf(stderr, "usage: export_bench DATA [--runs N (1-20)] [--tmp DIR]\n");
		return 2;
	}
	char out[4096];
	snprintf(out, sizeof out, "%s/jl-export-bench-XXXXXX", tmp);
	if (!mkdtemp(out)) {
		perror("export_bench: mkdtemp");
		return 1;
	}
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_store_t *s = NULL;
	jl_store_cfg_t cfg = {.dir = data, .readers = 2};
	int rc = 1;
	if (db_bytes(data) < 0 || jl_store_open("sqlite", &cfg, &s, &d) != JL_OK) {
		fprintf(stderr, "export_bench: %s is not a data directory\n", data);
		goto out;
	}
	printf("export-data: dir=%s db_mb=%.0f runs=%lld\n", data, (double)db_bytes(data) / 1e6, (long long)runs);
	static const struct {
		const char *name;
		uint8_t level;
	} levels[] = {{"system", JL_EXPORT_SYSTEM}, {"patient", JL_EXPORT_PATIENT}};
	for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
		double rps[20], mbps[20];
		int64_t n = 0, bytes = 0;
		for (int64_t r = 0; r < runs; r++) {
			jl_arena_t *ra = jl_arena_new(0, 0);
			jl_diag_t rd;
			jl_diag_init(&rd, ra);
			jl_export_spec_t spec = {.level = levels[l].level, .dir = out, .sync = true};
			jl_export_result_t res;
			int64_t t0 = jl_mono_ns();
			jl_rc xrc = jl_export_run(s, ra, &spec, &res, &rd);
			double secs = (double)(jl_mono_ns() - t0) / 1e9;
			if (xrc) {
				fprintf(stderr, "export_bench: %s export failed: %s\n", levels[l].name,
					rd.n ? rd.items[0].diag : jl_rc_name(xrc));
				jl_arena_free(ra);
				goto out;
			}
			n = res.resources;
			bytes = 0;
			for (size_t i = 0; i < res.nfiles; i++)
				bytes += res.files[i].bytes;
			rps[r] = (double)n / secs;
			mbps[r] = (double)bytes / 1e6 / secs;
			printf("  %s run %lld: %lld resources, %.0f MB in %.2f s: %.0f resources/s, %.0f MB/s\n",
			       levels[l].name, (long long)r + 1, (long long)n, (double)bytes / 1e6, secs, rps[r], mbps[r]);
			fflush(stdout);
			remove_files(out);
			jl_arena_free(ra);
		}
		qsort(rps, (size_t)runs, sizeof *rps, cmp_double);
		qsort(mbps, (size_t)runs, sizeof *mbps, cmp_double);
		printf("export-result: level=%s resources=%lld mb=%.0f resources_per_s=%.0f mb_per_s=%.0f peak_rss_mb=%.0f\n",
		       levels[l].name, (long long)n, (double)bytes / 1e6, rps[runs / 2], mbps[runs / 2],
		       (double)vm_hwm_kb() / 1024);
	}
	rc = 0;
out:
	remove_files(out);
	rmdir(out);
	jl_store_close(s);
	jl_arena_free(a);
	return rc;
}
