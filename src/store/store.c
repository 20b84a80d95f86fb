/*
 * store — picks a storage backend by name. Everything else about a store
 * goes through its struct of function pointers (store.h); this file only
 * knows the list of backends, so adding PostgreSQL is one more table row.
 */
#include "store/store.h"

#include <string.h>

#include "base/hash.h"
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

int64_t jl_store_target(jl_str_t ref)
{
	return (int64_t)jl_hash_bytes(JL_HASH_SEED, ref.p ? ref.p : "", ref.n);
}

int64_t jl_store_target2(jl_str_t type, jl_str_t id)
{
	/* Same bytes as jl_store_target("type/id"), without building the string. */
	uint64_t h = JL_HASH_SEED;
	char buf[160];
	if (type.n + id.n + 1 > sizeof buf)
		return 0;
	memcpy(buf, type.p, type.n);
	buf[type.n] = '/';
	memcpy(buf + type.n + 1, id.p, id.n);
	return (int64_t)jl_hash_bytes(h, buf, type.n + 1 + id.n);
}
