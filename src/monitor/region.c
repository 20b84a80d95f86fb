/*
 * region — builds the hierarchy from the division loader (registry/div.c
 * owns the embedded NBS list and its inflation, product data that both the
 * generator and the monitors need); a province from one pass over the list.
 */
#include "monitor/region.h"

#include <stdio.h>
#include <string.h>

#include "registry/div.h"

static void set_code(char *dst, uint64_t v, int digits)
{
	snprintf(dst, 13, "%0*llu", digits, (unsigned long long)v);
}

static void node_init(jl_region_node_t *nd, int level, int32_t parent)
{
	memset(nd, 0, sizeof *nd);
	nd->level = (uint8_t)level;
	nd->parent = parent;
	nd->valid_from = INT32_MIN;
	nd->valid_to = INT32_MAX;
}

/* The hierarchy of one prefecture from its division lists. */
static jl_rc from_geo(jl_arena_t *a, const jl_geo_t *gp, jl_regions_t *r)
{
	const jl_geo_t g = *gp;
	uint32_t pref_code = g.pref_code;
	memset(r, 0, sizeof *r);
	uint32_t n = 2 + g.ncounties + g.ntowns + g.nvillages;
	r->nodes = jl_arena_calloc(a, n, sizeof *r->nodes);
	r->village_node = jl_arena_calloc(a, g.nvillages ? g.nvillages : 1, sizeof *r->village_node);
	if (!r->nodes || !r->village_node)
		return JL_ENOMEM;
	r->nvillages = g.nvillages;
	r->version = "NBS 2023";
	/* Breadth-first by level keeps children contiguous; villages come in geo order, so ranges are too. */
	uint32_t k = 0;
	node_init(&r->nodes[k], JL_REG_PROVINCE, -1);
	set_code(r->nodes[k].code, pref_code / 10000 * 10000, 6);
	r->nodes[k].name = g.prov_name;
	r->nodes[k].child0 = 1;
	r->nodes[k].nchild = 1;
	k++;
	node_init(&r->nodes[k], JL_REG_PREFECTURE, 0);
	set_code(r->nodes[k].code, pref_code, 6);
	r->nodes[k].name = g.pref_name;
	r->nodes[k].child0 = 2;
	r->nodes[k].nchild = g.ncounties;
	k++;
	uint32_t town_base = 2 + g.ncounties, vill_base = town_base + g.ntowns;
	for (uint32_t c = 0; c < g.ncounties; c++, k++) {
		jl_region_node_t *nd = &r->nodes[k];
		node_init(nd, JL_REG_COUNTY, 1);
		set_code(nd->code, g.counties[c].code, 6);
		nd->name = g.counties[c].name;
		nd->child0 = town_base + g.counties[c].town0;
		nd->nchild = g.counties[c].ntown;
	}
	for (uint32_t t = 0; t < g.ntowns; t++, k++) {
		jl_region_node_t *nd = &r->nodes[k];
		node_init(nd, JL_REG_TOWNSHIP, (int32_t)(2 + g.towns[t].county));
		set_code(nd->code, g.towns[t].code, 9);
		nd->name = g.towns[t].name;
		nd->child0 = vill_base + g.towns[t].vill0;
		nd->nchild = g.towns[t].nvill;
		nd->vill0 = g.towns[t].vill0;
		nd->nvill = g.towns[t].nvill;
	}
	for (uint32_t v = 0; v < g.nvillages; v++, k++) {
		jl_region_node_t *nd = &r->nodes[k];
		node_init(nd, JL_REG_VILLAGE, (int32_t)(town_base + g.villages[v].town));
		set_code(nd->code, g.villages[v].code, 12);
		nd->name = g.villages[v].name;
		nd->vill0 = v;
		nd->nvill = 1;
		r->village_node[v] = k;
	}
	r->n = k;
	/* Village ranges of the upper levels, from their first and last township. */
	for (uint32_t c = 0; c < g.ncounties; c++) {
		jl_region_node_t *nd = &r->nodes[2 + c];
		if (nd->nchild) {
			const jl_region_node_t *t0 = &r->nodes[nd->child0], *t1 = &r->nodes[nd->child0 + nd->nchild - 1];
			nd->vill0 = t0->vill0;
			nd->nvill = t1->vill0 + t1->nvill - t0->vill0;
		}
	}
	r->nodes[0].nvill = r->nodes[1].nvill = g.nvillages;
	return JL_OK;
}

jl_rc jl_regions_load(jl_arena_t *a, uint32_t pref_code, jl_regions_t *r, jl_diag_t *d)
{
	memset(r, 0, sizeof *r);
	jl_geo_t g;
	jl_rc rc = jl_geo_load(a, pref_code, &g, d);
	return rc ? rc : from_geo(a, &g, r);
}

/* Where node `i` of prefecture hierarchy `r` lands in the province: one base per level. */
typedef struct lvl_base {
	uint32_t county, town, vill; /* first global node index of this prefecture's block of each level */
	uint32_t nc, nt;             /* its counties and townships */
} lvl_base_t;

static uint32_t remap(const lvl_base_t *b, uint32_t pref_node, uint32_t i)
{
	if (i == 1)
		return pref_node;
	if (i < 2 + b->nc)
		return b->county + (i - 2);
	if (i < 2 + b->nc + b->nt)
		return b->town + (i - 2 - b->nc);
	return b->vill + (i - 2 - b->nc - b->nt);
}

jl_rc jl_regions_load_province(jl_arena_t *a, uint32_t prov_code, jl_regions_t *r, jl_diag_t *d)
{
	memset(r, 0, sizeof *r);
	enum { MAXP = 99 }; /* prefecture codes xx01 … xx99 */
	uint32_t np = 0;
	jl_regions_t *sub = jl_arena_calloc(a, MAXP, sizeof *sub);
	jl_geo_t *geo = jl_arena_calloc(a, MAXP, sizeof *geo);
	if (!sub || !geo)
		return JL_ENOMEM;
	/*
	 * The province's prefectures with villages, from one pass over the
	 * division list (a county-level code group without villages, 省直辖县级
	 * and the like, is not among them).
	 */
	jl_diag_t quiet; /* the registry's issues are restated for the caller below */
	jl_diag_init(&quiet, a);
	jl_rc rc = jl_geo_load_province(a, prov_code, geo, MAXP, &np, &quiet);
	if (rc == JL_ENOTFOUND) {
		jl_diag_err(d, "not-found", "region", "No province has the division code %06u", prov_code);
		return rc;
	}
	if (rc) {
		jl_diag_err(d, "exception", "region", "The division list could not be read (%s)", jl_rc_name(rc));
		return rc;
	}
	uint32_t total = 1, nvill = 0;
	for (uint32_t k = 0; k < np; k++) {
		if ((rc = from_geo(a, &geo[k], &sub[k])) != JL_OK)
			return rc;
		total += sub[k].n - 1;
		nvill += sub[k].nvillages;
	}
	r->nodes = jl_arena_calloc(a, total, sizeof *r->nodes);
	r->village_node = jl_arena_calloc(a, nvill ? nvill : 1, sizeof *r->village_node);
	lvl_base_t *b = jl_arena_calloc(a, np, sizeof *b);
	if (!r->nodes || !r->village_node || !b)
		return JL_ENOMEM;
	/* Level blocks: province, prefectures, all counties, all townships, all villages (prefecture order). */
	uint32_t county = 1 + np, town = county, vill;
	for (uint32_t k = 0; k < np; k++)
		town += sub[k].nodes[1].nchild;
	vill = town;
	for (uint32_t k = 0; k < np; k++) {
		b[k].nc = sub[k].nodes[1].nchild;
		b[k].nt = sub[k].n - 2 - b[k].nc - sub[k].nvillages;
		vill += b[k].nt;
	}
	for (uint32_t k = 0, vbase = 0; k < np; k++) {
		b[k].county = county;
		b[k].town = town;
		b[k].vill = vill;
		county += b[k].nc;
		town += b[k].nt;
		vill += sub[k].nvillages;
		for (uint32_t i = 1; i < sub[k].n; i++) {
			jl_region_node_t nd = sub[k].nodes[i];
			uint32_t gi = remap(&b[k], 1 + k, i);
			nd.parent = i == 1 ? 0 : (int32_t)remap(&b[k], 1 + k, (uint32_t)nd.parent);
			if (nd.nchild)
				nd.child0 = remap(&b[k], 1 + k, nd.child0);
			nd.vill0 += vbase;
			r->nodes[gi] = nd;
		}
		for (uint32_t v = 0; v < sub[k].nvillages; v++)
			r->village_node[vbase + v] = remap(&b[k], 1 + k, sub[k].village_node[v]);
		vbase += sub[k].nvillages;
	}
	r->nodes[0] = sub[0].nodes[0];
	r->nodes[0].child0 = 1;
	r->nodes[0].nchild = np;
	r->nodes[0].vill0 = 0;
	r->nodes[0].nvill = nvill;
	r->n = total;
	r->nvillages = nvill;
	r->version = sub[0].version;
	return JL_OK;
}

jl_rc jl_regions_load_any(jl_arena_t *a, uint32_t code, jl_regions_t *out, jl_diag_t *d)
{
	return code % 10000 ? jl_regions_load(a, code, out, d) : jl_regions_load_province(a, code, out, d);
}

static bool all_digits(jl_str_t s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return s.n > 0;
}

int32_t jl_regions_village(const jl_regions_t *r, uint64_t code12)
{
	uint32_t lo = 0, hi = r->nvillages;
	char want[13];
	set_code(want, code12, 12);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->nodes[r->village_node[mid]].code, want);
		if (c == 0)
			return (int32_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int32_t jl_regions_find(const jl_regions_t *r, jl_str_t code)
{
	if (!r->n || !all_digits(code) || code.n > 12)
		return -1;
	char c6[13] = {0};
	memcpy(c6, code.p, code.n);
	if (code.n == 2 || code.n == 4) { /* short forms of province and prefecture */
		memset(c6 + code.n, '0', 6 - code.n);
		c6[6] = 0;
	}
	size_t n = strlen(c6);
	if (n == 12) {
		uint64_t v = 0;
		for (size_t i = 0; i < 12; i++)
			v = v * 10 + (uint64_t)(c6[i] - '0');
		int32_t vi = jl_regions_village(r, v);
		return vi < 0 ? -1 : (int32_t)r->village_node[vi];
	}
	for (uint32_t i = 0; i < r->n && r->nodes[i].level < JL_REG_VILLAGE; i++)
		if (strlen(r->nodes[i].code) == n && !memcmp(r->nodes[i].code, c6, n))
			return (int32_t)i;
	return -1;
}

int32_t jl_regions_locate(const jl_regions_t *r, jl_str_t code)
{
	if (!all_digits(code))
		return -1;
	for (size_t n = code.n > 12 ? 12 : code.n; n >= 6; n = n == 12 ? 9 : n == 9 ? 6 : 0) {
		int32_t i = jl_regions_find(r, jl_str(code.p, n));
		if (i >= 0)
			return i;
		if (n == 6)
			break;
	}
	return -1;
}

uint32_t jl_regions_pref_of(jl_str_t code)
{
	if (!all_digits(code) || code.n < 4)
		return 0;
	uint32_t v = 0;
	for (size_t i = 0; i < 4; i++)
		v = v * 10 + (uint32_t)(code.p[i] - '0');
	return v * 100;
}
