/*
 * store — picks a storage backend by name. Everything else about a store
 * goes through its struct of function pointers (store.h); this file only
 * knows the list of backends, so adding PostgreSQL is one more table row.
 */
#include "store/store.h"

#include <string.h>

#include "store/sqlite.h"

typedef struct backend {
	const char *name;
	jl_rc (*open)(const jl_store_cfg_t *cfg, jl_store_t **out, jl_diag_t *d);
} backend_t;

static const backend_t backends[] = {
	{"sqlite", jl__store_sqlite_open},
};

jl_rc jl_store_open(const char *backend, const jl_store_cfg_t *cfg, jl_store_t **out, jl_diag_t *d)
{
	jl_rc rc = JL_EINVAL;
	if (out)
		*out = NULL;
	if (!out || !cfg) {
		if (d)
			jl_diag_err(d, "invalid", NULL, "store: no configuration given");
		goto out;
	}
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		if (backend && strcmp(backend, backends[i].name) == 0) {
			rc = backends[i].open(cfg, out, d);
			goto out;
		}
	}
	if (d)
		jl_diag_err(d, "not-supported", NULL, "unknown storage backend \"%s\" (known: sqlite)",
			    backend ? backend : "(none)");
out:
	return rc;
}
