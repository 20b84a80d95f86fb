/*
 * export — `jianlian export DIR`: a bulk export (search/export.c) of a data
 * directory into NDJSON files, <Type>-<n>.ndjson, plus manifest.json in the
 * IG's manifest form (urls relative to DIR). The same engine as the
 * server's $export: one snapshot, streaming, memory bounded whatever the
 * data size.
 *
 * Nothing half-written: the files are written into a hidden directory
 * inside DIR and moved into DIR only when the whole export succeeded; on
 * any failure (or SIGINT/SIGTERM) the hidden directory is removed and DIR
 * is left as it was. Progress (resources/s, ETA) goes to standard error
 * when it is a terminal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "cli/cli.h"
#include "search/defs.h"
#include "search/export.h"

static atomic_bool stop_asked;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_asked, true);
}

static void export_usage(FILE *f)
{
	fprintf(f, "Usage: jianlian export DIR [options]\n"
		   "\n"
		   "Bulk export of a data directory as FHIR NDJSON (the files of a $export): the\n"
		   "current version of every resource, read from one snapshot, into DIR/<Type>-<n>.ndjson\n"
		   "and DIR/manifest.json. DIR is created if missing and must otherwise be empty.\n"
		   "\n"
		   "Options:\n"
		   "  --data DATA        data directory to export (default ./var/jianlian)\n"
		   "  --type T,...       only these resource types (default: all)\n"
		   "  --since INSTANT    only resources changed at or after INSTANT, e.g. 2025-01-01T00:00:00+08:00\n"
		   "  --type-filter Q    only the resources of Q's type that match the search Q, e.g.\n"
		   "                     'Observation?code=http://loinc.org|8480-6' (repeatable; the queries of\n"
		   "                     one type are OR'ed; Q's type is exported even if --type omits it)\n"
		   "  --elements E,...   keep only these root elements (Type.element or element) and the\n"
		   "                     mandatory ones; such resources are tagged SUBSETTED (repeatable)\n"
		   "  --patients         the Patient compartment of every patient (as Patient/$export)\n"
		   "  --group ID         the Patient compartment of Group ID's members (as Group/ID/$export)\n"
		   "  --max-file SIZE    split a type's output into files of at most SIZE (default 1G)\n"
		   "  --quiet            no progress output\n"
		   "  --help             print this help and exit\n"
		   "\n"
		   "Exit codes: 0 success, 1 failure (DIR not empty, data unreadable, disk full, interrupted),\n"
		   "2 usage error.\n");
}

/* ---- progress ---- */

typedef struct bar {
	int64_t t0_ns, last_ns;
	bool on;
} bar_t;

static void show(void *arg, const jl_export_progress_t *p)
{
	bar_t *b = arg;
	int64_t now = jl_mono_ns();
	if (!b->on || now - b->last_ns < 200000000)
		return;
	b->last_ns = now;
	double secs = (double)(now - b->t0_ns) / 1e9;
	double rate = secs > 0 ? (double)p->done / secs : 0;
	int64_t total = p->estimate > p->done ? p->estimate : p->done;
	int pct = total ? (int)(p->done * 100 / total) : 0;
	double eta = rate > 0 ? (double)(total - p->done) / rate : 0;
	char bar[31];
	for (int i = 0; i < 30; i++)
		bar[i] = i < pct * 30 / 100 ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "\r  [%s] %3d%%  %lld/%lld resources  %.0f/s  ETA %.0fs  %-24.*s", bar, pct,
		(long long)p->done, (long long)total, rate, eta, (int)(p->type.n > 24 ? 24 : p->type.n), p->type.p);
	fflush(stderr);
}

/* ---- the output directory ---- */

/* Creates dir (and its parents) if missing; 0 or an errno. */
static int mkdirs(const char *dir)
{
	char p[4096];
	size_t n = strlen(dir);
	if (n >= sizeof p)
		return ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return errno;
		p[i] = c;
	}
	struct stat st;
	return stat(dir, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* Whether dir holds any entry; -1 when it cannot be read. */
static int has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int any = 0;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

/* Removes a directory of plain files (the hidden work directory). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char p[4096];
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
				unlink(p);
		closedir(d);
	}
	rmdir(dir);
}

static bool write_file(const char *path, jl_str_t s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = write(fd, s.p, s.n) == (ssize_t)s.n && fsync(fd) == 0;
	return close(fd) == 0 && ok;
}

/* Moves the files of a finished export from work into dir, the manifest last. */
static bool publish(const char *work, const char *dir, const jl_export_result_t *r, jl_str_t manifest)
{
	char from[4096], to[4096];
	for (int pass = 0; pass < 2; pass++) {
		const jl_export_file_t *f = pass ? r->errors : r->files;
		size_t n = pass ? r->nerrors : r->nfiles;
		for (size_t i = 0; i < n; i++) {
			snprintf(from, sizeof from, "%s/%s", work, f[i].name);
			snprintf(to, sizeof to, "%s/%s", dir, f[i].name);
			if (rename(from, to) != 0)
				return false;
		}
	}
	snprintf(to, sizeof to, "%s/manifest.json", dir);
	if (!write_file(to, manifest))
		return false;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return true;
}

/* Takes back what publish() moved, after it failed part-way. */
static void unpublish(const char *dir, const jl_export_result_t *r)
{
	char p[4096];
	for (int pass = 0; pass < 2; pass++) {
		const jl_export_file_t *f = pass ? r->errors : r->files;
		size_t n = pass ? r->nerrors : r->nfiles;
		for (size_t i = 0; i < n; i++)
			if (snprintf(p, sizeof p, "%s/%s", dir, f[i].name) < (int)sizeof p)
				unlink(p);
	}
	if (snprintf(p, sizeof p, "%s/manifest.json", dir) < (int)sizeof p)
		unlink(p);
}

/* ---- the command ---- */

#define MAX_ARGS 64 /* --type-filter and --elements options */

typedef struct opts {
	const char *dir, *data, *types, *since, *group;
	const char *filters[MAX_ARGS], *elements[MAX_ARGS];
	int nfilters, nelements;
	bool patients, quiet;
	uint64_t max_file;
} opts_t;

static int parse_args(int argc, char **argv, opts_t *o)
{
	static const struct option lo[] = {
		{"data", required_argument, NULL, 'd'},  {"type", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'}, {"group", required_argument, NULL, 'g'},
		{"patients", no_argument, NULL, 'p'},    {"max-file", required_argument, NULL, 'm'},
		{"quiet", no_argument, NULL, 'q'},       {"help", no_argument, NULL, 'H'},
		{"type-filter", required_argument, NULL, 'f'}, {"elements", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->data = optarg; break;
		case 't': o->types = optarg; break;
		case 's': o->since = optarg; break;
		case 'g': o->group = optarg; break;
		case 'p': o->patients = true; break;
		case 'f':
		case 'e':
			if ((c == 'f' ? o->nfilters : o->nelements) == MAX_ARGS) {
				fprintf(stderr, "jianlian export: at most %d --%s options\n", MAX_ARGS,
					c == 'f' ? "type-filter" : "elements");
				return JL_EXIT_USAGE;
			}
			if (c == 'f')
				o->filters[o->nfilters++] = optarg;
			else
				o->elements[o->nelements++] = optarg;
			break;
		case 'q': o->quiet = true; break;
		case 'm':
			if (!jl_cli_parse_size(optarg, &o->max_file) || o->max_file < 1024) {
				fprintf(stderr, "jianlian export: --max-file must be a size of at least 1K, e.g. 256M\n");
				return JL_EXIT_USAGE;
			}
			break;
		case 'H': export_usage(stdout); return -1;
		default:
			fprintf(stderr, "jianlian export: unknown or incomplete option '%s'\n", argv[optind - 1]);
			export_usage(stderr);
			return JL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, optind < argc ? "jianlian export: one output directory expected, not several\n"
					      : "jianlian export: the output directory DIR is missing\n");
		return JL_EXIT_USAGE;
	}
	o->dir = argv[optind];
	if (o->patients && o->group) {
		fprintf(stderr, "jianlian export: --patients and --group exclude each other\n");
		return JL_EXIT_USAGE;
	}
	return JL_EXIT_OK;
}

/* --type-filter and --elements into the spec (the search definitions are the store's); problems are printed. */
static int make_filters(jl_arena_t *a, const opts_t *o, const jl_search_defs_t *defs, jl_export_spec_t *spec)
{
	jl_search_cfg_t cfg = {.defs = defs};
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_export_filter_t *f = NULL;
	jl_export_element_t *e = NULL;
	uint32_t nf = 0, ne = 0;
	jl_rc rc = JL_OK;
	for (int i = 0; i < o->nfilters && rc != JL_ENOMEM; i++)
		rc = jl_export_parse_filters(a, spec->level, jl_cstr(o->filters[i]), true, &cfg, &f, &nf, &d);
	for (int i = 0; i < o->nelements && rc != JL_ENOMEM; i++)
		rc = jl_export_parse_elements(a, jl_cstr(o->elements[i]), true, &e, &ne, &d);
	if (rc == JL_ENOMEM) {
		fprintf(stderr, "jianlian export: out of memory\n");
		return JL_EXIT_FAIL;
	}
	if (d.nerrors) {
		jl_cli_print_diag(&d);
		return JL_EXIT_USAGE;
	}
	spec->filters = f;
	spec->nfilters = nf;
	spec->elements = e;
	spec->nelements = ne;
	return JL_EXIT_OK;
}

/* Fills the spec from the options; usage problems are printed. */
static int make_spec(jl_arena_t *a, const opts_t *o, jl_export_spec_t *spec)
{
	spec->level = o->group ? JL_EXPORT_GROUP : o->patients ? JL_EXPORT_PATIENT : JL_EXPORT_SYSTEM;
	spec->group_id = jl_cstr(o->group);
	spec->max_file_bytes = o->max_file;
	if (o->since && !jl_export_parse_since(jl_cstr(o->since), &spec->since_us)) {
		fprintf(stderr, "jianlian export: --since '%s' is not an instant (e.g. 2025-01-01T00:00:00+08:00)\n",
			o->since);
		return JL_EXIT_USAGE;
	}
	if (!o->types)
		return JL_EXIT_OK;
	jl_str_t *t;
	uint32_t n;
	if (jl_export_split_types(a, jl_cstr(o->types), &t, &n) != JL_OK) {
		fprintf(stderr, "jianlian export: --type takes resource type names separated by commas\n");
		return JL_EXIT_USAGE;
	}
	jl_diag_t d;
	jl_diag_init(&d, a);
	if (jl_export_check_types(spec->level, t, n, &d) != JL_OK) {
		jl_cli_print_diag(&d);
		return JL_EXIT_USAGE;
	}
	spec->types = t;
	spec->ntypes = n;
	return JL_EXIT_OK;
}

/*
 * The store of an existing data directory (export never creates one), with
 * a current index when compartments or filters read it (then *defs are the
 * search definitions it was built with; the caller frees them).
 */
static int open_data(const char *data, bool need_index, jl_store_t **s, jl_search_defs_t **defs)
{
	int rc = jl_cli_open_data("export", data, s);
	*defs = NULL;
	if (rc != JL_EXIT_OK)
		return rc;
	return need_index ? jl_cli_prepare_index(*s, defs, false, true) : JL_EXIT_OK;
}

int jl_cmd_export(int argc, char **argv)
{
	opts_t o = {.data = "var/jianlian"};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? JL_EXIT_OK : rc;
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_export_spec_t spec = {0};
	jl_store_t *s = NULL;
	jl_search_defs_t *defs = NULL;
	char work[4096] = "";
	bool created = false;
	if ((rc = make_spec(a, &o, &spec)) != JL_EXIT_OK)
		goto out;
	rc = JL_EXIT_FAIL;
	struct stat st;
	created = stat(o.dir, &st) != 0;
	int e = mkdirs(o.dir);
	if (e) {
		fprintf(stderr, "jianlian export: cannot create %s: %s\n", o.dir, strerror(e));
		goto out;
	}
	if (has_entries(o.dir)) {
		fprintf(stderr, "jianlian export: %s is not empty (or not readable); export into a new directory\n", o.dir);
		goto out;
	}
	if (open_data(o.data, spec.level != JL_EXPORT_SYSTEM || o.nfilters, &s, &defs) != JL_EXIT_OK)
		goto out;
	/* Usage problems of the filters can only be told with the store's search definitions. */
	int frc = make_filters(a, &o, defs, &spec);
	if (frc != JL_EXIT_OK) {
		rc = frc;
		goto out;
	}
	snprintf(work, sizeof work, "%s/.export-%ld", o.dir, (long)getpid());
	if (mkdir(work, 0700) != 0) {
		fprintf(stderr, "jianlian export: cannot create %s: %s\n", work, strerror(errno));
		work[0] = 0;
		goto out;
	}
	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	bar_t bar = {.t0_ns = jl_mono_ns(), .on = !o.quiet && isatty(2)};
	spec.dir = work;
	spec.sync = true;
	spec.progress = show;
	spec.progress_arg = &bar;
	spec.cancel = &stop_asked;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_export_result_t res;
	jl_rc xrc = jl_export_run(s, a, &spec, &res, &d);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (bar.on)
		fputc('\n', stderr);
	if (xrc) {
		jl_cli_print_diag(&d);
		fprintf(stderr, "jianlian export: nothing was written to %s\n", o.dir);
		goto out;
	}
	/* The manifest's "request": the command that made it. */
	jl_buf_t m, req;
	jl_buf_init(&m, JL_MEM_MISC, 0);
	jl_buf_init(&req, JL_MEM_MISC, 0);
	jl_buf_puts(&req, "jianlian export");
	for (int i = 1; i < argc; i++)
		if (argv[i] != o.dir)
			jl_buf_printf(&req, " %s", argv[i]);
	bool ok = !jl_buf_status(&req) && jl_export_manifest(&m, &res, jl_buf_str(&req), JL_STR_NULL) == JL_OK &&
		  publish(work, o.dir, &res, jl_buf_str(&m));
	jl_buf_dispose(&m);
	jl_buf_dispose(&req);
	if (!ok) {
		fprintf(stderr, "jianlian export: cannot move the files into %s: %s\n", o.dir, strerror(errno));
		unpublish(o.dir, &res);
		goto out;
	}
	double secs = (double)(jl_mono_ns() - bar.t0_ns) / 1e9;
	int64_t bytes = 0;
	for (size_t i = 0; i < res.nfiles; i++)
		bytes += res.files[i].bytes;
	printf("exported %lld resources in %zu file(s), %.1f MB, to %s in %.1f s (%.0f resources/s)\n",
	       (long long)res.resources, res.nfiles, (double)bytes / 1e6, o.dir, secs,
	       secs > 0 ? (double)res.resources / secs : 0.0);
	if (res.problems)
		fprintf(stderr, "jianlian export: %lld resource(s) could not be read and are listed in the error file(s)\n",
			(long long)res.problems);
	rc = JL_EXIT_OK;
out:
	if (work[0])
		remove_dir(work);
	if (rc && created)
		rmdir(o.dir); /* a directory this run made, left empty by the failure */
	jl_store_close(s);
	jl_search_defs_free(defs);
	jl_arena_free(a);
	return rc;
}
