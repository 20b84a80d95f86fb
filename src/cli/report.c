/*
 * report — `jianlian report`: the annual report of a region as one
 * self-contained HTML file (monitor/report.c), and as PDF through headless
 * Chromium when it is installed. Computes the report year and the four
 * years before it (the trends) from the facts projection of the data
 * directory (monitor/project.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cli/cli.h"
#include "monitor/catalog.h"
#include "monitor/engine.h"
#include "monitor/facts.h"
#include "monitor/region.h"
#include "monitor/report.h"
#include "store/store.h"

#define TREND_YEARS 5

static void usage(FILE *f)
{
	fputs("Usage: jianlian report --region CODE --year YEAR --out report.html [--pdf report.pdf] [--data DIR]\n"
	      "\n"
	      "The annual monitoring report of a region: indicators against targets, a written summary of the\n"
	      "targets met and missed (Chinese and English), sub-regions, maps and trends, in one HTML file\n"
	      "that opens offline. --pdf also prints it with headless Chromium (JL_CHROMIUM, else chromium\n"
	      "on PATH). --data defaults to var/jianlian.\n",
	      f);
}

/* Writes the whole buffer to path through a temporary file: never a half-written report. */
static int write_file(const char *path, const jl_buf_t *b)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return -1;
	bool ok = fwrite(b->p, 1, b->n, f) == b->n;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static const char *find_chromium(void)
{
	const char *env = getenv("JL_CHROMIUM");
	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	static const char *const cands[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
	for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

/* Prints html to pdf with headless Chromium; 0 on success. */
static int print_pdf(const char *chromium, const char *html, const char *pdf)
{
	char abs[PATH_MAX], url[PATH_MAX + 16], out[PATH_MAX + 32];
	if (!realpath(html, abs))
		return -1;
	snprintf(url, sizeof url, "file://%s", abs);
	snprintf(out, sizeof out, "--print-to-pdf=%s", pdf);
	unlink(pdf);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Chromium is chatty on stderr; keep the CLI's own messages readable. */
		FILE *devnull = freopen("/dev/null", "w", stderr);
		(void)devnull;
		execl(chromium, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		      "--virtual-time-budget=10000", out, url, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	struct stat sb;
	return stat(pdf, &sb) == 0 && sb.st_size > 0 ? 0 : -1;
}

int jl_cmd_report(int argc, char **argv)
{
	static const struct option lo[] = {{"region", required_argument, NULL, 'r'}, {"year", required_argument, NULL, 'y'},
					   {"out", required_argument, NULL, 'o'},    {"pdf", required_argument, NULL, 'p'},
					   {"data", required_argument, NULL, 'd'},   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *region = NULL, *yarg = NULL, *outp = NULL, *pdf = NULL, *data = "var/jianlian";
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': region = optarg; break;
		case 'y': yarg = optarg; break;
		case 'o': outp = optarg; break;
		case 'p': pdf = optarg; break;
		case 'd': data = optarg; break;
		case 'h': usage(stdout); return JL_EXIT_OK;
		default: usage(stderr); return JL_EXIT_USAGE;
		}
	}
	if (optind < argc || !region || !yarg || !outp) {
		fprintf(stderr, "jianlian report: --region, --year and --out are required\n");
		usage(stderr);
		return JL_EXIT_USAGE;
	}
	int32_t year;
	if (!jl_cli_parse_year("report", "year", yarg, &year))
		return JL_EXIT_USAGE;
	uint32_t pref = jl_regions_pref_of(jl_cstr(region));
	size_t rl = strlen(region);
	if (!pref || (rl != 6 && rl != 9 && rl != 12)) {
		fprintf(stderr, "jianlian report: --region must be a division code (6, 9 or 12 digits), got '%s'\n", region);
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
	jl_cube_t *cubes[TREND_YEARS] = {0};
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	if (jl_catalog_load(a, JL_STR_NULL, &cat, &d) || jl_regions_load(a, pref, &reg, &d)) {
		fprintf(stderr, "jianlian report: cannot load the catalogue or the region %s\n", region);
		jl_cli_print_diag(&d);
		ex = JL_EXIT_USAGE;
		goto out;
	}
	int32_t node = jl_regions_find(&reg, jl_cstr(region));
	if (node < 0) {
		fprintf(stderr, "jianlian report: unknown region %s\n", region);
		ex = JL_EXIT_USAGE;
		goto out;
	}
	if (jl_cli_open_data("report", data, &s) != JL_EXIT_OK)
		goto out;
	/* The facts from the data directory's projection: only what was written since its last refresh is read. */
	if (jl_cli_project_facts("report", false, s, data, &cat, &reg, &f, &d))
		goto out;
	facts = true;
	for (int i = 0; i < TREND_YEARS; i++) {
		if (jl_engine_compute(&f, year - (TREND_YEARS - 1) + i, &cubes[i])) {
			fprintf(stderr, "jianlian report: out of memory computing %d\n", (int)(year - (TREND_YEARS - 1) + i));
			goto out;
		}
	}
	if (jl_report_html((const jl_cube_t *const *)cubes, TREND_YEARS, (uint32_t)node, &b) ||
	    write_file(outp, &b) != 0) {
		fprintf(stderr, "jianlian report: cannot write %s: %s\n", outp, strerror(errno));
		goto out;
	}
	fprintf(stderr, "jianlian report: %s written (%zu bytes)\n", outp, b.n);
	ex = JL_EXIT_OK;
	if (pdf) {
		const char *chromium = find_chromium();
		if (!chromium) {
			fprintf(stderr, "jianlian report: no PDF: Chromium is not installed (apt-get install chromium, or set "
					"JL_CHROMIUM); the HTML report is complete\n");
			ex = JL_EXIT_FAIL;
		} else if (print_pdf(chromium, outp, pdf) != 0) {
			fprintf(stderr, "jianlian report: %s could not print %s to %s\n", chromium, outp, pdf);
			ex = JL_EXIT_FAIL;
		} else {
			fprintf(stderr, "jianlian report: %s written\n", pdf);
		}
	}
out:
	for (int i = 0; i < TREND_YEARS; i++)
		jl_engine_free(cubes[i]);
	jl_buf_dispose(&b);
	if (facts)
		jl_facts_dispose(&f);
	jl_store_close(s);
	jl_arena_free(a);
	return ex;
}
