/*
 * params — the generator's parameters: population structure, names, disease
 * rates, service compliance, error rates. They live in a documented text
 * file (data/gen/params.conf, embedded in the binary; `--params FILE`
 * replaces it) so that a corrected figure is a data change, not a code
 * change. docs/gen.md cites the source of each figure.
 *
 * Format: one `key value…` line per fact, '#' starts a comment. Scalars are
 * `key number [spread]`; tables repeat their key (see the file). Unknown
 * keys are errors, so a typo never silently leaves a default.
 */
#ifndef JL_GEN_PARAMS_H
#define JL_GEN_PARAMS_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

#define JL_GEN_AGE_BANDS 18   /* 0-4 … 80-84, 85+ */
#define JL_GEN_MAX_ETH 12     /* ethnic groups in one mix */
#define JL_GEN_CURVE 12       /* points of an age curve */

typedef struct jl_gen_curve {
	int n;
	double age[JL_GEN_CURVE], v[JL_GEN_CURVE]; /* piecewise linear in age, flat outside */
} jl_gen_curve_t;

typedef struct jl_gen_mix {
	uint32_t county;          /* 0 = every county without its own line */
	int n;
	int code[JL_GEN_MAX_ETH]; /* GB 3304 */
	double share[JL_GEN_MAX_ETH];
} jl_gen_mix_t;

typedef struct jl_gen_namechar {
	const char *ch;     /* UTF-8, one or two characters (compound surnames) */
	const char *py;     /* toneless pinyin, syllables joined */
	double w;
	int group;          /* surnames: GB 3304 ethnic code, 0 = any; given: 'm' or 'f' */
	int eras;           /* given names: bit 0 born <1960, 1: 1960-79, 2: 1980-99, 3: 2000+ */
} jl_gen_namechar_t;

typedef struct jl_gen_charset {
	int n;
	const char *ch[6];  /* a set of interchangeable characters (homophones, variants, look-alikes) */
} jl_gen_charset_t;

typedef struct jl_gen_notifiable {
	const char *icd, *name;
	double per100k;     /* annual reported incidence */
	int peak_month;     /* 1-12, 0 = no season */
	double season;      /* amplitude 0..1 */
	int max_age;        /* cases mostly below this age (0 = any) */
	int outbreak;       /* eligible for injected outbreaks */
} jl_gen_notifiable_t;

typedef struct jl_gen_rate {
	double mean, spread; /* per county: mean + spread·u, u uniform in [-1, 1] from the seed */
} jl_gen_rate_t;

typedef struct jl_gen_params {
	/* population */
	double age_share[JL_GEN_AGE_BANDS];   /* of the population, sums to 1 */
	double age_male[JL_GEN_AGE_BANDS];    /* male share within the band */
	int ncounty_pop;
	uint32_t county_code[64];
	double county_pop[64];
	int nmix;
	jl_gen_mix_t mix[64];
	int neth_names;
	int eth_code[64];
	const char *eth_name[64];
	int nsurnames, ngiven, nhomo, nshape, ntrad;
	jl_gen_namechar_t *surnames, *given;
	jl_gen_charset_t *homo, *shape, *trad;  /* trad: {simplified, traditional} */
	double single_given[4];               /* share of one-character given names per era */
	double household_mean;                /* persons per household (target) */
	double migrant_in, migrant_out, move_rate, move_within;
	double real_population;               /* the real prefecture's population (institution scale) */
	/* chronic disease */
	jl_gen_curve_t htn_prev, t2dm_prev;
	double htn_registered, t2dm_registered, smi_prev, tb_per100k;
	jl_gen_rate_t followup, bp_control, fpg_control, smi_followup, elderly_check, vaccine, child_check;
	double phone_followup;
	double contract_general, contract_key;
	/* maternal and child */
	jl_gen_curve_t fertility;
	double prenatal_early, prenatal_5, postpartum, newborn_visit;
	/* mortality and care */
	double gompertz_a, gompertz_b, infant_mortality, child_mortality;
	double outpatient_rate, inpatient_rate;
	/* infectious disease */
	int nnotif;
	jl_gen_notifiable_t notif[32];
	double outbreaks_per_million_year;
	/* duplicates and their errors */
	double dup_mean;
	double e_homophone, e_shape, e_trad, e_pinyin, e_id_missing, e_id_typo, e_phone_changed, e_phone_missing,
		e_lunar, e_daymonth, e_sex_missing, e_swap;
} jl_gen_params_t;

/*
 * Parses a parameter file (text of n bytes; NULL = the embedded default).
 * Strings are copied into `a`. JL_EINVAL with an issue naming the line on
 * any unknown key or bad value.
 */
jl_rc jl_gen_params_parse(jl_arena_t *a, const char *text, size_t n, jl_gen_params_t *out, jl_diag_t *d)
	JL_MUST_USE;

/* Value of a curve at `age`. */
double jl_gen_curve_at(const jl_gen_curve_t *c, double age);

/* The embedded default file (data/gen/params.conf). */
const char *jl_gen_params_default(size_t *n);

#endif
