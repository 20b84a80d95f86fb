/*
 * div — the official division hierarchy (registry data shared by the region
 * generator, which places people in it, and the monitors' region tree):
 * GB/T 2260 county codes and NBS 12-digit township and village codes, from
 * data/divisions.tsv.gz (made by tools/gen_divisions.mjs from npm
 * china-division 2.7.0, NBS 2023 release) which is embedded in the binary.
 *
 * jl_geo_load decompresses the list once and keeps the selected prefecture
 * (jl_geo_load_province: every prefecture of a province) down to village
 * level, plus every county of the country (for the household-registration
 * places of people born elsewhere). The result is
 * read-only and may be shared between threads.
 */
#ifndef JL_REGISTRY_DIV_H
#define JL_REGISTRY_DIV_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

typedef struct jl_geo_county {
	uint32_t code;         /* 6 digits */
	const char *name;
	uint32_t town0, ntown; /* townships [town0, town0 + ntown) */
	double weight;         /* share of the prefecture's residents (set by the caller) */
} jl_geo_county_t;

typedef struct jl_geo_town {
	uint64_t code;         /* 9 digits */
	const char *name;
	uint32_t county;       /* index */
	uint32_t vill0, nvill;
	int street;            /* 街道 (urban) rather than 镇/乡 */
} jl_geo_town_t;

typedef struct jl_geo_village {
	uint64_t code;         /* 12 digits */
	const char *name;
	uint32_t town;         /* index */
	int urban;             /* 居委会 (village digits 001-199) rather than 村委会 */
} jl_geo_village_t;

typedef struct jl_geo_natcounty {
	uint32_t code;
	const char *prov, *pref, *name;
} jl_geo_natcounty_t;

typedef struct jl_geo {
	uint32_t pref_code;     /* 6 digits, e.g. 532900 */
	const char *prov_name;  /* 云南省 */
	const char *pref_name;  /* 大理白族自治州 */
	jl_geo_county_t *counties;
	uint32_t ncounties;
	jl_geo_town_t *towns;
	uint32_t ntowns;
	jl_geo_village_t *villages;
	uint32_t nvillages;
	jl_geo_natcounty_t *nat; /* every county-level division of the country */
	uint32_t nnat;
	const char *source;      /* "china-division 2.7.0 nbs 2023" */
} jl_geo_t;

/*
 * Loads the prefecture `pref_code` (6 digits ending in 00, e.g. 532900; a
 * municipality's 市辖区 such as 110100 works too). Allocates from `a`.
 * JL_ENOTFOUND (with an issue in d) if no such prefecture or it has no
 * villages; JL_EIO if the embedded data is damaged.
 */
jl_rc jl_geo_load(jl_arena_t *a, uint32_t pref_code, jl_geo_t *out, jl_diag_t *d) JL_MUST_USE;

/*
 * Every prefecture of the province prov_code (6 digits ending in 0000, e.g.
 * 530000) that has villages, ascending, each as jl_geo_load gives it (they
 * share one national county list), from one pass over the list: out[0 …
 * *n), at most max. Allocates from `a`. JL_ENOTFOUND (issue in d) when
 * there is none; JL_EIO if the embedded data is damaged.
 */
jl_rc jl_geo_load_province(jl_arena_t *a, uint32_t prov_code, jl_geo_t *out, uint32_t max, uint32_t *n,
			   jl_diag_t *d) JL_MUST_USE;

#endif
