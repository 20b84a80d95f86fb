/*
 * serve — `jianlian serve`: open the store, start the HTTP server, wait for
 * SIGTERM or SIGINT, then shut down in order: stop accepting, let in-flight
 * requests finish, close the store (which drains queued writes and
 * checkpoints), exit 0.
 *
 * Signals are blocked in every thread before any thread starts, and taken
 * synchronously here with sigwait, so no handler runs in the middle of a
 * request.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/version.h"
#include "cli/cli.h"
#include "monitor/catalog.h"
#include "monitor/region.h"
#include "rest/bulk.h"
#include "rest/import.h"
#include "rest/monitor.h"
#include "rest/server.h"
#include "store/store.h"

static void serve_usage(FILE *f)
{
	fprintf(f, "Usage: jianlian serve [options]\n"
		   "\n"
		   "Serve the FHIR R4 REST API at http://HOST:PORT/fhir.\n"
		   "\n"
		   "Options:\n"
		   "  --host ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
		   "  --port N            TCP port (default 8080; 0 picks a free one and prints it)\n"
		   "  --data DIR          data directory (default ./var/jianlian; created if missing)\n"
		   "  --threads N         HTTP worker threads (default one per core, at least 2)\n"
		   "  --max-body SIZE     largest request body, e.g. 64M (default 64M; larger → 413)\n"
		   "  --timeout SECONDS   per-request deadline (default 30)\n"
		   "  --idle-timeout SEC  close connections idle (or sending too slowly) this long (default 60)\n"
		   "  --base-url URL      absolute base for links (default http://<Host header>/fhir)\n"
		   "  --page-size N       entries per page of searches and histories without _count (default 20)\n"
		   "  --max-count N       largest _count honoured; larger asks get N (default 1000, at most 10000)\n"
		   "  --max-conditional-delete N  most resources one conditional delete removes (default 1; more → 412)\n"
		   "  --max-bundle-entries N  most entries in a batch or transaction Bundle (default 10000)\n"
		   "  --export-ttl SECONDS  keep a finished $export's files and status this long (default 3600)\n"
		   "  --export-jobs N     $export jobs running at once; more are refused with 429 (default 2)\n"
		   "  --export-file-size SIZE  split $export NDJSON files at this size (default 1G)\n"
		   "  --import-dir DIR    $import reads input files from this directory only (default: none,\n"
		   "                      $import refuses every input)\n"
		   "  --targets FILE      extra indicator target rows ({\"targets\": [...]}, as `jianlian indicators\n"
		   "                      --targets`), checked at start; /monitor and $evaluate-measure use them\n"
		   "  --admin-token TOKEN unlocks admin-only features such as _debug=plan (also $JIANLIAN_ADMIN_TOKEN)\n"
		   "  --log-level LEVEL   debug, info, warn or error (default info)\n"
		   "  --no-access-log     do not log one line per request\n"
		   "  --no-auto-reindex   refuse to start (exit 1) instead of rebuilding a stale search index\n"
		   "  --help              print this help and exit\n"
		   "\n"
		   "Logs are JSON lines on standard error. SIGTERM or SIGINT stops the server cleanly.\n");
}

/*
 * Every row's region is a division code the server knows (national
 * "000000", a province, or a node of a prefecture's hierarchy), so that a
 * mistyped code is an error at start, not a target that never applies.
 * The rows' shape was checked by the catalogue already.
 */
static jl_rc target_regions_known(jl_arena_t *a, jl_str_t text, jl_diag_t *d)
{
	char *copy = jl_arena_strndup(a, text.p, text.n);
	jl_json_t *root;
	jl_json_err_t e;
	if (!copy || jl_json_parse(a, copy, text.n, NULL, &root, &e))
		return JL_ENOMEM; /* it parsed once already */
	const jl_json_t *rows = jl_json_get(root, "targets");
	for (uint32_t i = 0; jl_json_is(rows, JL_JSON_ARRAY) && i < rows->n; i++) {
		jl_str_t code = jl_json_str(jl_json_get(&rows->u.a[i], "region"));
		uint32_t pref = jl_regions_pref_of(code);
		if (jl_str_eqc(code, "000000") || (pref && pref % 10000 == 0 && code.n == 6))
			continue;
		jl_regions_t reg;
		jl_diag_t quiet;
		jl_diag_init(&quiet, a);
		if (pref && jl_regions_load(a, pref, &reg, &quiet) == JL_OK && jl_regions_find(&reg, code) >= 0)
			continue;
		char where[40];
		snprintf(where, sizeof where, "targets[%u].region", i);
		jl_diag_err(d, "not-found", where, "%s: no region has the division code %.*s", where, JL_STR_FMT(code));
		return JL_EINVALID;
	}
	return JL_OK;
}

/*
 * Checks a targets file against the built-in catalogue before anything
 * starts, so that a bad row is reported as the file's (the issue names the
 * row and element, e.g. targets[2].kind) rather than as a failing service.
 */
static bool targets_ok(jl_arena_t *a, const char *path, jl_str_t text)
{
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_catalog_t cat;
	jl_rc rc = jl_catalog_load(a, JL_STR_NULL, &cat, &d);
	if (!rc)
		rc = jl_catalog_add_targets(a, &cat, text, &d);
	if (!rc)
		rc = target_regions_known(a, text, &d);
	if (!rc)
		return true;
	fprintf(stderr, "jianlian serve: bad targets file %s\n", path);
	jl_cli_print_diag(&d);
	return false;
}

int jl_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'h'},   {"port", required_argument, NULL, 'p'},
		{"data", required_argument, NULL, 'd'},   {"threads", required_argument, NULL, 't'},
		{"max-body", required_argument, NULL, 'b'}, {"timeout", required_argument, NULL, 'T'},
		{"base-url", required_argument, NULL, 'u'}, {"log-level", required_argument, NULL, 'l'},
		{"no-access-log", no_argument, NULL, 'n'}, {"idle-timeout", required_argument, NULL, 'i'},
		{"admin-token", required_argument, NULL, 'A'}, {"no-auto-reindex", no_argument, NULL, 'R'},
		{"page-size", required_argument, NULL, 'P'}, {"max-count", required_argument, NULL, 'M'},
		{"max-conditional-delete", required_argument, NULL, 'D'},
		{"max-bundle-entries", required_argument, NULL, 'E'},
		{"export-ttl", required_argument, NULL, 'X'}, {"export-jobs", required_argument, NULL, 'J'},
		{"export-file-size", required_argument, NULL, 'F'},
		{"import-dir", required_argument, NULL, 'I'}, {"targets", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, '?' + 256},
		{NULL, 0, NULL, 0},
	};
	jl_server_cfg_t scfg;
	jl_server_cfg_defaults(&scfg);
	jl_api_cfg_t acfg;
	jl_api_cfg_defaults(&acfg);
	jl_bulk_cfg_t bcfg;
	jl_bulk_cfg_defaults(&bcfg);
	jl_imports_cfg_t icfg;
	jl_imports_cfg_defaults(&icfg);
	const char *data = "var/jianlian", *targets = NULL;
	jl_log_level level = JL_LOG_INFO;
	bool auto_reindex = true;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t v;
		uint64_t sz;
		switch (c) {
		case 'h': scfg.host = optarg; break;
		case 'p':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 0 || v > 65535) {
				fprintf(stderr, "jianlian serve: --port must be 0-65535, not '%s'\n", optarg);
				return JL_EXIT_USAGE;
			}
			scfg.port = (uint16_t)v;
			break;
		case 'd': data = optarg; break;
		case 't':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 1024) {
				fprintf(stderr, "jianlian serve: --threads must be 1-1024\n");
				return JL_EXIT_USAGE;
			}
			scfg.threads = (unsigned)v;
			break;
		case 'b':
			if (!jl_cli_parse_size(optarg, &sz) || sz < 1024 || sz > ((uint64_t)1 << 32)) {
				fprintf(stderr, "jianlian serve: --max-body must be between 1K and 4G, e.g. 64M\n");
				return JL_EXIT_USAGE;
			}
			acfg.max_body = (size_t)sz;
			break;
		case 'T':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 86400) {
				fprintf(stderr, "jianlian serve: --timeout must be 1-86400 seconds\n");
				return JL_EXIT_USAGE;
			}
			acfg.request_timeout_ms = v * 1000;
			break;
		case 'i':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 3600) {
				fprintf(stderr, "jianlian serve: --idle-timeout must be 1-3600 seconds\n");
				return JL_EXIT_USAGE;
			}
			scfg.conn_timeout_s = (unsigned)v;
			break;
		case 'P':
		case 'M':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 10000) {
				fprintf(stderr, "jianlian serve: --%s must be 1-10000\n", c == 'P' ? "page-size" : "max-count");
				return JL_EXIT_USAGE;
			}
			*(c == 'P' ? &acfg.page_default : &acfg.page_max) = (uint32_t)v;
			break;
		case 'D':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 999) {
				fprintf(stderr, "jianlian serve: --max-conditional-delete must be 1-999\n");
				return JL_EXIT_USAGE;
			}
			acfg.cond_delete_max = (uint32_t)v;
			break;
		case 'E':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 1000000) {
				fprintf(stderr, "jianlian serve: --max-bundle-entries must be 1-1000000\n");
				return JL_EXIT_USAGE;
			}
			acfg.bundle_max_entries = (uint32_t)v;
			break;
		case 'X':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 30 * 86400) {
				fprintf(stderr, "jianlian serve: --export-ttl must be 1-2592000 seconds\n");
				return JL_EXIT_USAGE;
			}
			bcfg.ttl_s = v;
			break;
		case 'J':
			if (!jl_str_to_i64(jl_cstr(optarg), &v) || v < 1 || v > 64) {
				fprintf(stderr, "jianlian serve: --export-jobs must be 1-64\n");
				return JL_EXIT_USAGE;
			}
			bcfg.max_jobs = (uint32_t)v;
			break;
		case 'I': icfg.dir = optarg; break;
		case 'F':
			if (!jl_cli_parse_size(optarg, &sz) || sz < 1024) {
				fprintf(stderr, "jianlian serve: --export-file-size must be a size of at least 1K, e.g. 256M\n");
				return JL_EXIT_USAGE;
			}
			bcfg.max_file_bytes = sz;
			break;
		case 'u': acfg.base_url = optarg; break;
		case 'R': auto_reindex = false; break;
		case 'A':
			if (strlen(optarg) < 16) {
				fprintf(stderr, "jianlian serve: --admin-token must be at least 16 characters\n");
				return JL_EXIT_USAGE;
			}
			acfg.admin_token = optarg;
			break;
		case 'l':
			if (!strcmp(optarg, "debug")) level = JL_LOG_DEBUG;
			else if (!strcmp(optarg, "info")) level = JL_LOG_INFO;
			else if (!strcmp(optarg, "warn")) level = JL_LOG_WARN;
			else if (!strcmp(optarg, "error")) level = JL_LOG_ERROR;
			else {
				fprintf(stderr, "jianlian serve: --log-level must be debug, info, warn or error\n");
				return JL_EXIT_USAGE;
			}
			break;
		case 'n': scfg.access_log = false; break;
		case 'G': targets = optarg; break;
		case '?' + 256: serve_usage(stdout); return JL_EXIT_OK;
		default:
			fprintf(stderr, "jianlian serve: unknown or incomplete option '%s'\n", argv[optind - 1]);
			serve_usage(stderr);
			return JL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jianlian serve: unexpected argument '%s'\n", argv[optind]);
		return JL_EXIT_USAGE;
	}
	if (acfg.base_url) {
		size_t n = strlen(acfg.base_url);
		while (n > 1 && acfg.base_url[n - 1] == '/')
			n--;
		acfg.base_url = jl_strndup(JL_MEM_MISC, acfg.base_url, n); /* lives as long as the process */
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (acfg.page_default > acfg.page_max) {
		fprintf(stderr, "jianlian serve: --page-size (%u) must not exceed --max-count (%u)\n", acfg.page_default,
			acfg.page_max);
		return JL_EXIT_USAGE;
	}
	jl_log_t log;
	jl_log_init(&log, 2, level);
	jl_arena_t *a = jl_arena_new(0, 0);
	if (!a)
		return JL_EXIT_FAIL;
	jl_diag_t d;
	jl_diag_init(&d, a);
	int rc = JL_EXIT_FAIL;
	jl_store_t *store = NULL;
	jl_server_t *srv = NULL;
	jl_api_t api;
	jl_search_defs_t *defs = NULL;
	bool api_up = false;
	char *targets_text = NULL; /* the catalogue copies what it keeps */
	size_t targets_n = 0;
	jl_store_cfg_t stcfg = {.dir = data};
	if (targets && !(targets_text = jl_cli_read_file(targets, &targets_n))) {
		fprintf(stderr, "jianlian serve: cannot read the targets file %s: %s\n", targets, strerror(errno));
		goto out;
	}
	if (targets_text && !targets_ok(a, targets, jl_str(targets_text, targets_n)))
		goto out;
	if (jl_store_open("sqlite", &stcfg, &store, &d) != JL_OK) {
		fprintf(stderr, "jianlian serve: cannot open the data directory %s\n", data);
		jl_cli_print_diag(&d);
		goto out;
	}
	if (!acfg.admin_token && getenv("JIANLIAN_ADMIN_TOKEN") && strlen(getenv("JIANLIAN_ADMIN_TOKEN")) >= 16)
		acfg.admin_token = getenv("JIANLIAN_ADMIN_TOKEN");
	if (jl_cli_prepare_index(store, &defs, auto_reindex, false) != JL_EXIT_OK)
		goto out;
	if (jl_api_init(&api, &acfg, store, defs, &log) != JL_OK) {
		fprintf(stderr, "jianlian serve: cannot initialise the API\n");
		goto out;
	}
	api_up = true;
	if (jl_rest_monitor_start(&api, targets_text ? jl_str(targets_text, targets_n) : JL_STR_NULL, &d) != JL_OK) {
		fprintf(stderr, "jianlian serve: cannot start the indicator service\n");
		jl_cli_print_diag(&d);
		goto out;
	}
	jl_free(JL_MEM_MISC, targets_text); /* the catalogue keeps its own copy */
	targets_text = NULL;
	bcfg.dir = jl_arena_printf(a, "%s/export", data);
	if (!bcfg.dir || jl_bulk_start(&bcfg, store, &log, &api.bulk, &d) != JL_OK) {
		fprintf(stderr, "jianlian serve: cannot start bulk export\n");
		jl_cli_print_diag(&d);
		goto out;
	}
	icfg.work = jl_arena_printf(a, "%s/import", data);
	if (!icfg.work || jl_imports_start(&icfg, store, defs, &log, &api.imports, &d) != JL_OK) {
		fprintf(stderr, "jianlian serve: cannot start bulk import\n");
		jl_cli_print_diag(&d);
		goto out;
	}
	if (jl_server_start(&api, &scfg, &srv, &d) != JL_OK) {
		jl_cli_print_diag(&d);
		goto out;
	}
	const char *shown = scfg.host;
	printf("Jianlian %s listening on http://%s:%u/fhir (data: %s)\n", JL_VERSION,
	       strchr(shown, ':') ? "[::1]" : shown, (unsigned)jl_server_port(srv), data);
	fflush(stdout);
	jl_log_msg(&log, JL_LOG_INFO, "listening on %s port %u, data %s", shown, (unsigned)jl_server_port(srv),
		   data);
	int sig = 0;
	sigwait(&sigs, &sig);
	jl_log_msg(&log, JL_LOG_INFO, "signal %d: draining in-flight requests", sig);
	atomic_store(&api.draining, 1);
	jl_bulk_stop(api.bulk); /* running exports end now (recorded as failed); status stays readable */
	jl_imports_stop(api.imports); /* running imports commit what they read; the next start resumes them */
	/* Writes finish or time out within the request deadline; wait a little longer than that. */
	if (!jl_server_stop(srv, (int)acfg.request_timeout_ms + 5000)) {
		jl_log_msg(&log, JL_LOG_ERROR, "stopping without a clean shutdown; the store recovers on next start");
		_exit(JL_EXIT_FAIL);
	}
	srv = NULL;
	rc = JL_EXIT_OK;
out:
	if (srv && !jl_server_stop(srv, 0))
		_exit(JL_EXIT_FAIL);
	if (api_up) {
		jl_bulk_stop(api.bulk);
		jl_bulk_free(api.bulk);
		api.bulk = NULL;
		jl_imports_stop(api.imports);
		jl_imports_free(api.imports);
		api.imports = NULL;
	}
	if (api_up)
		jl_rest_monitor_stop(&api);
	jl_store_close(store);
	if (api_up)
		jl_api_dispose(&api);
	jl_search_defs_free(defs);
	if (rc == JL_EXIT_OK)
		jl_log_msg(&log, JL_LOG_INFO, "stopped cleanly");
	jl_free(JL_MEM_MISC, targets_text);
	jl_arena_free(a);
	return rc;
}
