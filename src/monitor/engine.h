/*
 * engine — evaluates the whole catalogue for one reporting year over a
 * facts projection into a "cube": numerator and denominator counts per
 * indicator × village × sex × age band (plus deaths and mid-year
 * population per life-table age group for §5.1/§5.2). Any region's result
 * is then a sum over its village range — roll-up adds numerators and
 * denominators, never rates (indicators.md §1) — so one cube answers every
 * region, sub-region and stratifier of that year.
 *
 * Output: JSON per region and year (jl_engine_json) carrying the counts,
 * the value (none when the denominator is empty), a 95 % CI, the target and
 * the gap; targets that compare with the previous year (annual_change,
 * increasing) are judged against a second, smaller cube of that year kept
 * with this one.
 *
 * Cells exist only for the populated villages (jl_facts_t.vrank: those
 * where some person of the facts lived), ranked in hierarchy order, so a
 * region's villages stay one range and a province whose people live in a
 * few counties costs cells for those only; a region with none has an empty
 * range, so no value.
 *
 * A cube is read-only after jl_engine_compute and may be shared.
 */
#ifndef JL_MONITOR_ENGINE_H
#define JL_MONITOR_ENGINE_H

#include "base/json.h"
#include "monitor/facts.h"
#include "monitor/stats.h"

typedef struct jl_cell {
	int64_t num, den;
} jl_cell_t;

typedef struct jl_cube {
	const jl_facts_t *f;
	const jl_catalog_t *cat;
	const jl_regions_t *reg;
	int32_t year;
	uint32_t nv, nb;        /* populated villages, age bands */
	const uint32_t *vrank;  /* village index -> dense village (f->vrank, borrowed) */
	int32_t *slot;          /* per indicator: its block of cells, -1 when not computed */
	jl_cell_t *cells;       /* [slot][dense village][sex 0..2][band] */
	double *lt;             /* [dense village][sex 0..2][3: pop, deaths, ncd deaths][JL_LT_GROUPS]; NULL if not computed */
	/*
	 * The previous year, for the indicators whose targets compare with it
	 * (annual_change, increasing); NULL when the catalogue has none.
	 */
	struct jl_cube *prev;
	int64_t snapshot_us;    /* the data the cube was computed from */
	int64_t computed_us;
} jl_cube_t;

/*
 * Computes the cube of `year` (and, when some target needs it, the previous
 * year's values of those indicators). The facts must outlive it. JL_ENOMEM.
 */
jl_rc jl_engine_compute(const jl_facts_t *f, int32_t year, jl_cube_t **out) JL_MUST_USE;
void jl_engine_free(jl_cube_t *c);

/* Bytes a cube holds (cells, life-table arrays, the previous year's cube). */
size_t jl_engine_bytes(const jl_cube_t *c);

/* A result at one node. */
typedef struct jl_result {
	int64_t num, den;
	bool has_value;
	double value, lo, hi;   /* in the indicator's unit; lo/hi NAN when no CI */
	bool suppressed;        /* den below the catalogue's small-denominator threshold */
	const jl_cat_target_t *target;
	double target_value;    /* when target && target->has_value */
	bool has_gap;
	double gap;             /* bounds: value − target_value; annual_change: change − target_value */
	int met;                /* 1 met, 0 missed, -1 unknown */
	/* annual_change and increasing: the previous year's value and the change since (in the unit: pp for %). */
	bool has_prev;
	double prev_value, change;
	/* annual_change: the required path baseline + value × (year − baselineYear), and whether value is on it. */
	bool has_path;
	double path;
	int on_track;           /* 1, 0, -1 unknown */
	const jl_fact_aggr_t *aggr; /* AGGREGATE: the report used */
} jl_result_t;

/*
 * The level the indicator should have in the result's year, for a target
 * line on a chart: the bound for ge/gt/le/lt/delta_from_baseline, the path
 * for annual_change, the baseline for stable; false when the target gives
 * none (increasing, no target).
 */
bool jl_engine_target_line(const jl_result_t *r, double *out);

/*
 * The result of indicator i at node (sex 0 and band -1: all; sex 1/2, band b:
 * that stratum only).
 */
void jl_engine_result(const jl_cube_t *c, uint32_t i, uint32_t node, int sex, int band, jl_result_t *out);

/* Window of indicator i in the cube's year: first and last day; reference date = last. */
void jl_engine_window(const jl_cube_t *c, const jl_indicator_t *ind, int32_t *start, int32_t *end);

/*
 * Who was counted (subject lists): calls fn once per person of the facts
 * who is in indicator i's denominator at node (den true, num whether the
 * numerator rule held for at least one of their memberships) or, for a
 * numerator population of its own (deaths), in it (num true). A person
 * counted twice (two deliveries) is reported once. COUNT indicators only
 * (others report nobody). Read-only on the cube; thread-safe.
 */
typedef void (*jl_engine_member_fn)(void *arg, const jl_fact_person_t *p, bool den, bool num);
void jl_engine_members(const jl_cube_t *c, uint32_t i, uint32_t node, jl_engine_member_fn fn, void *arg);

/*
 * The whole catalogue at one node as JSON: region, year, snapshot, and per
 * indicator the result, strata (sex, age band) and the children's results.
 * only: NULL for every indicator, else one id.
 */
void jl_engine_json(const jl_cube_t *c, uint32_t node, const char *only, jl_jw_t *w);

#endif
