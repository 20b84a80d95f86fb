/*
 * measure — the FHIR face of the indicator catalogue: a Measure resource
 * per indicator, a summary MeasureReport per indicator, region and year
 * computed from a cube ($evaluate-measure), and the checks an aggregate
 * input (a summary MeasureReport posted for a measure the records cannot
 * give) must pass before it is stored. docs/indicators.md documents the
 * extensions and code systems used; all live under JL_MEASURE_BASE.
 *
 * Pure functions of their arguments; thread-safe.
 */
#ifndef JL_MONITOR_MEASURE_H
#define JL_MONITOR_MEASURE_H

#include "base/json.h"
#include "monitor/engine.h"

#define JL_MEASURE_BASE "https://jianlian.example/fhir/"
/* Division codes (GB/T 2260 and the NBS village codes) as identifiers and codings. */
#define JL_MEASURE_DIVISION_SYSTEM JL_MEASURE_BASE "CodeSystem/cn-division-gbt2260"

/* The Measure resource of an indicator (id = indicator id, url = catalogue canonical + id), compact JSON. */
void jl_measure_resource(const jl_catalog_t *cat, const jl_indicator_t *ind, jl_jw_t *w);

/*
 * The summary MeasureReport of indicator i at node of the cube: period =
 * the indicator's window in the cube's year, subject = the region's
 * division code, populations numerator and denominator, measureScore
 * (absent when the denominator is empty), stratifiers sex, age band and
 * sub-region, target / gap / met / ci95 as extensions of the group.
 * date_us: the report's date.
 */
void jl_measure_report(const jl_cube_t *c, uint32_t i, uint32_t node, int64_t date_us, jl_jw_t *w);

/* Most subjects a subject-list report lists per population. */
#define JL_MEASURE_MAX_SUBJECTS 10000

/*
 * The subject-list MeasureReport of indicator i at node: the summary
 * report's content with type subject-list, and per population (numerator,
 * denominator) a contained List of the Patients counted, referenced from
 * population.subjectResults. Each person is listed once (a mother with two
 * deliveries counts twice but is listed once). The ids are found by one
 * scan of the store's Patients: a Patient deleted since the cube's snapshot
 * is left out. COUNT indicators only. JL_EINVALID (issue in d naming
 * "reportType") for other methods; JL_ETOOBIG (issue naming "subject") when
 * a population has more than JL_MEASURE_MAX_SUBJECTS people; JL_EIO,
 * JL_ENOMEM. Nothing is written to w on error.
 */
jl_rc jl_measure_subject_list(const jl_cube_t *c, uint32_t i, uint32_t node, jl_store_t *s, int64_t date_us,
			      jl_arena_t *a, jl_jw_t *w, jl_diag_t *d) JL_MUST_USE;

/* Does a division code name a region? (code as written in the report) */
typedef bool (*jl_measure_region_fn)(void *arg, jl_str_t code);

/*
 * Checks a MeasureReport before it is written. Reports of measures outside
 * the catalogue, or of computed (not aggregate) indicators, pass as they
 * are. An aggregate input must be a summary report of status complete
 * whose subject (or reporter) identifier value is a known region code,
 * whose period is one whole calendar year, and whose group[0].measureScore
 * value lies in the indicator's range. JL_EINVALID with issues in d naming
 * the element (e.g. "MeasureReport.period.end").
 */
jl_rc jl_measure_check_report(const jl_catalog_t *cat, const jl_json_t *res, jl_measure_region_fn known, void *arg,
			      jl_diag_t *d) JL_MUST_USE;

#endif
