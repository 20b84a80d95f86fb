/*
 * region — the hierarchy indicators roll up along: province > prefecture >
 * county > township > village, from the official division codes (NBS 2023,
 * the list src/registry/div.c embeds). Nodes carry validity fields (valid from /
 * to, successor) so that a later code version can be mapped onto the
 * reporting year's; the shipped list has one version, so every node is
 * valid throughout and has no successor.
 *
 * One hierarchy holds one prefecture down to its villages, under its
 * province node (the unit the platform serves, and the generator makes),
 * or a whole province (jl_regions_load_province).
 * Nodes are stored in depth-first order so that the villages under any node
 * are one contiguous range [vill0, vill0 + nvill) of the village indexes:
 * roll-up is a sum over a range.
 *
 * Read-only after jl_regions_load; may be shared between threads.
 */
#ifndef JL_MONITOR_REGION_H
#define JL_MONITOR_REGION_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/str.h"

typedef enum jl_reg_level {
	JL_REG_PROVINCE = 1,
	JL_REG_PREFECTURE = 2,
	JL_REG_COUNTY = 3,
	JL_REG_TOWNSHIP = 4,
	JL_REG_VILLAGE = 5,
} jl_reg_level;

typedef struct jl_region_node {
	char code[13];       /* as written: 6 digits for province/prefecture/county, 9 township, 12 village */
	const char *name;
	uint8_t level;       /* jl_reg_level */
	int32_t parent;      /* node index, -1 for the root */
	uint32_t child0, nchild; /* children are nodes [child0, child0 + nchild) */
	uint32_t vill0, nvill;   /* villages under (or at) this node, as village indexes */
	int32_t valid_from;  /* day number (days since 1970-01-01); INT32_MIN: since ever */
	int32_t valid_to;    /* last valid day; INT32_MAX: still valid */
	char successor[13];  /* code that replaced this one ("" when none) */
} jl_region_node_t;

typedef struct jl_regions {
	jl_region_node_t *nodes; /* nodes[0] is the province */
	uint32_t n;
	uint32_t *village_node;  /* village index -> node index */
	uint32_t nvillages;
	const char *version;     /* division code version, e.g. "NBS 2023" */
} jl_regions_t;

/*
 * Loads the hierarchy of the prefecture pref_code (6 digits ending in 00,
 * e.g. 532900; a municipality's districts as 110100). Allocates from a.
 * JL_ENOTFOUND (issue in d) when there is no such prefecture.
 */
jl_rc jl_regions_load(jl_arena_t *a, uint32_t pref_code, jl_regions_t *out, jl_diag_t *d) JL_MUST_USE;

/*
 * Loads a whole province (prov_code: 6 digits ending in 0000, e.g. 530000):
 * the province node, every prefecture of it (ascending codes) and their
 * counties, townships and villages, with the same contiguity as one
 * prefecture (villages in code order, so every node's villages are one
 * range). Allocates from a. JL_ENOTFOUND (issue in d) when no prefecture of
 * the province is known.
 */
jl_rc jl_regions_load_province(jl_arena_t *a, uint32_t prov_code, jl_regions_t *out, jl_diag_t *d) JL_MUST_USE;

/* Loads a prefecture (jl_regions_load) or, for a code ending in 0000, a province. */
jl_rc jl_regions_load_any(jl_arena_t *a, uint32_t code, jl_regions_t *out, jl_diag_t *d) JL_MUST_USE;

/*
 * The node whose code is `code`: 2 or 6 digits for the province ("53",
 * "530000"), 4 or 6 for the prefecture, 6 county, 9 township, 12 village.
 * -1 when the code is not in this hierarchy (or is malformed).
 */
int32_t jl_regions_find(const jl_regions_t *r, jl_str_t code);

/* Village index of a 12-digit village code (binary search); -1 when unknown. */
int32_t jl_regions_village(const jl_regions_t *r, uint64_t code12);

/*
 * Where an institution sits: the deepest node matching its address
 * division code (a village or township code; a county code attaches it to
 * the county). -1 when outside the hierarchy.
 */
int32_t jl_regions_locate(const jl_regions_t *r, jl_str_t code);

/* The prefecture code (6 digits, e.g. 532900) a division code belongs to; 0 when malformed. */
uint32_t jl_regions_pref_of(jl_str_t code);

#endif
