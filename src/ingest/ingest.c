/*
 * ingest — batched, validated writes. Each queued resource owns its stored
 * body in the batch arena; a batch is one jl_store_write call (one
 * transaction), after which the arena is reset.
 */
#include "ingest/ingest.h"

#include <stdio.h>

#include "base/arena.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/rand.h"
#include "base/time.h"
#include "fhir/model.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

struct jl_ingest {
	jl_ingest_cfg_t cfg;
	jl_arena_t *batch_arena;   /* bodies, ids and types of the queued writes */
	jl_arena_t *scratch;       /* one resource's parse tree, reset per resource */
	jl_write_t *w;
	uint64_t *keys;            /* hashes of the queued (type, id): a repeat flushes first */
	uint32_t n;
	jl_buf_t body;
	jl_ingest_stats_t st;
};

jl_rc jl_ingest_new(const jl_ingest_cfg_t *cfg, jl_ingest_t **out)
{
	*out = NULL;
	if (!cfg->store)
		return JL_EINVAL;
	jl_ingest_t *g = jl_calloc(JL_MEM_STORE, 1, sizeof *g);
	if (!g)
		return JL_ENOMEM;
	g->cfg = *cfg;
	if (!g->cfg.batch)
		g->cfg.batch = 1000;
	if (!g->cfg.max_depth)
		g->cfg.max_depth = 128;
	g->batch_arena = jl_arena_new(1 << 20, 0);
	g->scratch = jl_arena_new(1 << 16, 0);
	g->w = jl_calloc(JL_MEM_STORE, g->cfg.batch, sizeof *g->w);
	g->keys = jl_calloc(JL_MEM_STORE, g->cfg.batch, sizeof *g->keys);
	jl_buf_init(&g->body, JL_MEM_STORE, 0);
	if (!g->batch_arena || !g->scratch || !g->w || !g->keys) {
		jl_ingest_free(g);
		return JL_ENOMEM;
	}
	*out = g;
	return JL_OK;
}

void jl_ingest_free(jl_ingest_t *g)
{
	if (!g)
		return;
	jl_arena_free(g->batch_arena);
	jl_arena_free(g->scratch);
	jl_free(JL_MEM_STORE, g->w);
	jl_free(JL_MEM_STORE, g->keys);
	jl_buf_dispose(&g->body);
	jl_free(JL_MEM_STORE, g);
}

const jl_ingest_stats_t *jl_ingest_stats(const jl_ingest_t *g)
{
	return &g->st;
}

jl_rc jl_ingest_flush(jl_ingest_t *g)
{
	if (!g->n)
		return JL_OK;
	jl_rc rc = jl_store_write(g->cfg.store, g->w, g->n, 0);
	/* Another writer changed one of these resources since we read it: index again and retry. */
	for (int tries = 0; rc == JL_ESTALE && tries < 5; tries++) {
		for (uint32_t i = 0; i < g->n && rc == JL_ESTALE; i++)
			if (jl_index_refresh_old(g->cfg.defs, g->cfg.store, g->batch_arena, &g->w[i]) != JL_OK)
				rc = JL_EIO;
		if (rc == JL_ESTALE)
			rc = jl_store_write(g->cfg.store, g->w, g->n, 0);
	}
	if (rc)
		g->st.failed += g->n;
	else
		g->st.written += g->n;
	g->n = 0;
	jl_arena_reset(g->batch_arena);
	return rc;
}

static jl_rc reject(jl_ingest_t *g, jl_rc rc)
{
	g->st.rejected++;
	jl_arena_reset(g->scratch);
	return rc;
}

jl_rc jl_ingest_add(jl_ingest_t *g, jl_str_t json, jl_diag_t *d)
{
	jl_json_t *res;
	jl_json_err_t e;
	jl_json_opts_t o = {.max_depth = g->cfg.max_depth};
	jl_rc rc = jl_json_parse(g->scratch, json.p, json.n, &o, &res, &e);
	if (rc) {
		jl_diag_err(d, "structure", NULL, "Not valid JSON: %s at line %u, column %u", e.msg, e.line, e.col);
		return reject(g, rc == JL_ENOMEM ? JL_ENOMEM : JL_EINVAL);
	}
	const jl_fhir_type_t *type = res->type == JL_JSON_OBJECT ? jl_fhir_resource(jl_json_str(jl_json_get(res, "resourceType"))) : NULL;
	if (!type) {
		jl_diag_err(d, "structure", "resourceType", "Not a FHIR R4 resource (missing or unknown resourceType)");
		return reject(g, JL_EINVAL);
	}
	if (jl_fhir_validate(res, type, d) != JL_OK)
		return reject(g, JL_EINVALID);
	jl_str_t id = jl_json_str(jl_json_get(res, "id"));
	char uuid[37];
	if (!id.n) {
		if (!g->cfg.assign_ids) {
			jl_diag_err(d, "required", "id", "The resource has no id");
			return reject(g, JL_EINVALID);
		}
		jl_uuid_v7(jl_now_us(), uuid);
		id = jl_str(uuid, 36);
	}
	jl_buf_clear(&g->body);
	uint32_t meta_len = 0;
	rc = jl_fhir_body_encode(res, &g->body, &meta_len);
	if (rc)
		return reject(g, rc);
	/* The index rows to remove come from the stored version: a resource queued twice must wait. */
	uint64_t key = jl_hash4(jl_cstr(type->name), id, JL_STR_NULL, JL_STR_NULL);
	for (uint32_t i = 0; i < g->n; i++)
		if (g->keys[i] == key) {
			rc = jl_ingest_flush(g);
			if (rc)
				return reject(g, rc);
			break;
		}
	jl_write_t *w = &g->w[g->n];
	memset(w, 0, sizeof *w);
	w->kind = JL_WRITE_UPDATE;
	w->create_ok = true;
	w->type = jl_cstr(type->name); /* static table string */
	w->id = jl_arena_str(g->batch_arena, id);
	w->body = jl_arena_str(g->batch_arena, jl_buf_str(&g->body));
	w->body_meta = meta_len;
	if (!w->id.p || (!w->body.p && g->body.n)) {
		jl_arena_reset(g->scratch);
		g->st.rejected++;
		return JL_ENOMEM;
	}
	if (g->cfg.defs) {
		rc = jl_index_prepare_write(g->cfg.defs, g->cfg.store, g->batch_arena, w, res);
		if (rc) {
			jl_diag_err(d, "exception", NULL, "The resource could not be indexed (%s)", jl_rc_name(rc));
			return reject(g, rc);
		}
	}
	jl_arena_reset(g->scratch);
	g->keys[g->n] = key;
	g->n++;
	g->st.added++;
	g->st.bytes += (int64_t)json.n;
	if (g->n == g->cfg.batch)
		return jl_ingest_flush(g);
	return JL_OK;
}
