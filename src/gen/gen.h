/*
 * gen — the synthetic region generator (`jianlian gen`): one prefecture's
 * institutions, practitioners and residents with their health over the
 * years, as FHIR R4 resources, plus ground-truth files (outbreak windows,
 * duplicate-record mapping) that the EMPI and early-warning tests score
 * against. See docs/gen.md.
 *
 * Deterministic: the same configuration gives the same resources, byte for
 * byte, in the same order. Streaming: residents are generated household by
 * household and handed to the sink at once; memory does not grow with N
 * beyond a small per-(county, birth date) counter table for citizen-ID
 * sequence numbers.
 *
 * Not thread-safe: one run per thread (runs share nothing).
 */
#ifndef JL_GEN_GEN_H
#define JL_GEN_GEN_H

#include <stdint.h>

#include "base/err.h"
#include "base/str.h"
#include "gen/params.h"

/* The resource types the generator writes, in the order of the output files. */
typedef enum jl_gen_rt {
	JL_GEN_ORGANIZATION, JL_GEN_LOCATION, JL_GEN_PRACTITIONER, JL_GEN_PRACTITIONERROLE, JL_GEN_CARETEAM,
	JL_GEN_PATIENT, JL_GEN_EPISODEOFCARE, JL_GEN_ENCOUNTER, JL_GEN_CONDITION, JL_GEN_OBSERVATION,
	JL_GEN_IMMUNIZATION, JL_GEN_MEDICATIONREQUEST, JL_GEN_PROCEDURE,
	JL_GEN_NTYPES
} jl_gen_rt;

/* "Organization" … */
const char *jl_gen_rt_name(jl_gen_rt t);

/* Ground-truth files. */
typedef enum jl_gen_truth {
	JL_GEN_TRUTH_DUPLICATES, /* duplicates.tsv */
	JL_GEN_TRUTH_OUTBREAKS,  /* outbreaks.tsv (written at the end) */
	JL_GEN_TRUTH_OUTBREAK_CASES, /* outbreak_cases.tsv: which case reports an outbreak injected */
	JL_GEN_NTRUTH
} jl_gen_truth;
const char *jl_gen_truth_name(jl_gen_truth t);

typedef struct jl_gen_sink {
	/* One resource as compact JSON (no newline). A non-OK return stops the run with that code. */
	jl_rc (*put)(void *arg, jl_gen_rt type, jl_str_t json);
	/* One line (without newline) of a ground-truth file; the first line of each file is its header. */
	jl_rc (*truth)(void *arg, jl_gen_truth file, jl_str_t line);
	/* Progress: residents done of total, resources so far. Optional. */
	void (*progress)(void *arg, int64_t done, int64_t total, int64_t resources);
	void *arg;
} jl_gen_sink_t;

typedef struct jl_gen_cfg {
	uint32_t region;          /* prefecture code, e.g. 532900 */
	int64_t residents;        /* people on the register at the start of year_from */
	int year_from, year_to;   /* inclusive */
	uint64_t seed;
	const jl_gen_params_t *params; /* NULL = the embedded defaults */
} jl_gen_cfg_t;

/* Per-county service rates (see params.conf). */
enum { JL_GEN_R_FOLLOWUP, JL_GEN_R_BP, JL_GEN_R_FPG, JL_GEN_R_SMI, JL_GEN_R_ELDERLY, JL_GEN_R_VACCINE, JL_GEN_R_CHILD,
       JL_GEN_NRATES };
const char *jl_gen_rate_name(int i);

typedef struct jl_gen_stats {
	int64_t count[JL_GEN_NTYPES];
	int64_t resources;
	int64_t residents;        /* generated people, including births */
	int64_t births, deaths, duplicates, outbreaks, outbreak_cases;
	int64_t organizations;
	char example[JL_GEN_NTYPES][64]; /* the first id written of each type */
	char region_name[128];    /* 云南省大理白族自治州 */
	uint32_t counties, towns, villages;
	/* Service rates drawn for each county (mean ± spread from the parameters). */
	uint32_t county_code[64];
	double county_pop_share[64];
	double county_rate[64][JL_GEN_NRATES];
} jl_gen_stats_t;

/*
 * Runs the generator. Problems with the configuration (unknown region, bad
 * years) are JL_EINVAL / JL_ENOTFOUND with an issue in d; a sink failure
 * returns the sink's code.
 */
jl_rc jl_gen_run(const jl_gen_cfg_t *cfg, const jl_gen_sink_t *sink, jl_gen_stats_t *st, jl_diag_t *d)
	JL_MUST_USE;

/* Canonical base of the project's own systems and extensions (identifiers.md's {base}). */
#define JL_CANON "https://jianlian.example/fhir"

#endif
