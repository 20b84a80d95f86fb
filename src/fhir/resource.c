/*
 * resource — stored body encoding (see resource.h for the format).
 */
#include "fhir/resource.h"

#include <stdio.h>

#include "base/time.h"

static void put_member(jl_buf_t *out, const jl_json_member_t *m)
{
	jl_buf_putc(out, ',');
	jl_json_quote(out, m->key);
	jl_buf_putc(out, ':');
	jl_json_write(out, &m->v, 0);
}

jl_rc jl_fhir_body_encode(const jl_json_t *res, jl_buf_t *out, uint32_t *meta_len)
{
	size_t start = out->n;
	const jl_json_t *meta = jl_json_get(res, "meta");
	if (jl_json_is(meta, JL_JSON_OBJECT)) {
		for (uint32_t i = 0; i < meta->n; i++) {
			jl_str_t k = meta->u.o[i].key;
			if (jl_str_eqc(k, "versionId") || jl_str_eqc(k, "lastUpdated") ||
			    jl_str_eqc(k, "_versionId") || jl_str_eqc(k, "_lastUpdated"))
				continue;
			put_member(out, &meta->u.o[i]);
		}
	}
	size_t mlen = out->n - start;
	for (uint32_t i = 0; i < res->n; i++) {
		jl_str_t k = res->u.o[i].key;
		if (jl_str_eqc(k, "resourceType") || jl_str_eqc(k, "id") || jl_str_eqc(k, "meta"))
			continue;
		put_member(out, &res->u.o[i]);
	}
	if (mlen > UINT32_MAX)
		return JL_ETOOBIG;
	*meta_len = (uint32_t)mlen;
	return jl_buf_status(out);
}

jl_rc jl_fhir_body_assemble(jl_buf_t *out, jl_str_t type, jl_str_t id, int64_t ver, int64_t updated_us,
			    jl_str_t body, uint32_t meta_len)
{
	if (meta_len > body.n)
		return JL_EIO;
	char ts[32], vs[24];
	size_t tn = jl_time_fmt_instant(updated_us, ts);
	int vn = snprintf(vs, sizeof vs, "%lld", (long long)ver);
	jl_buf_reserve(out, body.n + type.n + id.n + 96);
	jl_buf_append(out, "{\"resourceType\":", 16);
	jl_json_quote(out, type);
	jl_buf_append(out, ",\"id\":", 6);
	jl_json_quote(out, id);
	jl_buf_append(out, ",\"meta\":{\"versionId\":\"", 22);
	jl_buf_append(out, vs, (size_t)vn);
	jl_buf_append(out, "\",\"lastUpdated\":\"", 17);
	jl_buf_append(out, ts, tn);
	jl_buf_putc(out, '"');
	/* An empty body (a resource with no elements) may carry a null pointer. */
	if (meta_len)
		jl_buf_append(out, body.p, meta_len);
	jl_buf_putc(out, '}');
	if (body.n > meta_len)
		jl_buf_append(out, body.p + meta_len, body.n - meta_len);
	jl_buf_putc(out, '}');
	return jl_buf_status(out);
}

int64_t jl_fhir_meta_version(const jl_json_t *res)
{
	jl_str_t v = jl_json_str(jl_json_get(jl_json_get(res, "meta"), "versionId"));
	int64_t n;
	if (!v.n || !jl_str_to_i64(v, &n) || n < 1)
		return 0;
	return n;
}
