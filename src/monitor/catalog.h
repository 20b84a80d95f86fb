/*
 * catalog — the indicator catalogue: declarative definitions of every
 * indicator the platform computes or receives (data/indicators.json,
 * embedded in the binary; docs/indicators.md documents the format), and
 * the target rows (national rows in the same file, regional overrides from
 * a targets file).
 *
 * A definition names a denominator population (residents, managed or
 * registered patients, births, deliveries, deaths, notified cases) and a
 * numerator: either a rule applied to each member (enough encounters in a
 * window, the last measurement below a threshold, an episode at the
 * reference date, a vaccine dose …) or a population of its own (deaths of
 * a kind). Only the life table (§5.1) and the 30–70 NCD probability (§5.2)
 * are formulas in C; indicators the records cannot give are "aggregate":
 * their values come from posted MeasureReports.
 *
 * Event kinds are strings with a namespace — "enc:<Encounter.type code>",
 * "eoc:<EpisodeOfCare.type code>", "obs:<Observation.code>",
 * "imm:<vaccine code>" — interned into small numbers (jl_cat_kind) so that
 * the facts keep only what some definition refers to.
 *
 * Read-only after loading; may be shared between threads.
 */
#ifndef JL_MONITOR_CATALOG_H
#define JL_MONITOR_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/str.h"

#define JL_CAT_MAX_KINDS 64
#define JL_CAT_MAX_BANDS 12
#define JL_CAT_MAX_ICD 8
#define JL_CAT_MAX_SCHED 12 /* ages of a schedule rule */
#define JL_CAT_MAX_SCHED_YEARS 6

typedef enum jl_pop {
	JL_POP_NONE = 0,
	JL_POP_RESIDENTS,  /* 常住 at the reference date, optionally an age range */
	JL_POP_MANAGED,    /* 年内已管理 (§3.1) for an episode type */
	JL_POP_REGISTERED, /* on the register (episode active) at the reference date */
	JL_POP_BIRTHS,     /* live births in the window, by residence at birth */
	JL_POP_DELIVERIES, /* deliveries in the window, by the mother's residence */
	JL_POP_DEATHS,     /* deaths in the window, by residence at death */
	JL_POP_CASES,      /* notified cases (Condition, notifiable-disease-report) in the window */
} jl_pop;

typedef enum jl_rule {
	JL_RULE_NONE = 0,
	JL_RULE_ENCOUNTERS,   /* >= min encounters of the kinds (and classes) in the window / days */
	JL_RULE_FOLLOWUPS,    /* the same, parameters from a named rule object (§3.2) */
	JL_RULE_LAST_MEASURE, /* last valid measurement in the window below thresholds; none = not met (§3.3) */
	JL_RULE_FIRST_MEASURE,/* first measurement in the days below a threshold */
	JL_RULE_IDENTIFIER,   /* the Patient carries an identifier of a system */
	JL_RULE_EPISODE,      /* an episode of the kinds at the reference date / overlapping the days */
	JL_RULE_IMMUNIZATION, /* a dose of a vaccine in the days (relative to birth) */
	JL_RULE_ALL,          /* every sub-rule */
	JL_RULE_SCHEDULE,     /* checks at set ages, counted per year of life (4:2:2, §4.5) */
} jl_rule;

typedef enum jl_cat_method {
	JL_METHOD_COUNT = 0,  /* numerator / denominator counts */
	JL_METHOD_LIFE_TABLE, /* §5.1 */
	JL_METHOD_NCD,        /* §5.2 */
	JL_METHOD_AGGREGATE,  /* posted MeasureReports only */
} jl_cat_method;

typedef enum jl_window { JL_WIN_CALENDAR = 0, JL_WIN_MCH = 1 } jl_window;
typedef enum jl_dir { JL_DIR_NONE = 0, JL_DIR_HIGHER, JL_DIR_LOWER } jl_dir;

/* Encounter classes (v3 ActCode) a rule accepts, as a bit set. */
enum { JL_CLS_AMB = 1, JL_CLS_HH = 2, JL_CLS_VR = 4, JL_CLS_IMP = 8, JL_CLS_OTHER = 16 };

typedef uint8_t jl_cat_kind; /* index into jl_catalog_t.kinds; 0 = none */

typedef struct jl_icd_range {
	uint16_t lo, hi; /* 3-character ICD-10 categories as letter*100 + number, inclusive */
} jl_icd_range_t;

typedef struct jl_followup_rule {
	const char *id, *version;
	int32_t min;
	jl_cat_kind kinds[4];
	uint8_t nkinds;
	uint8_t classes;
	int32_t max_gap_days; /* 0: no spacing rule */
} jl_followup_rule_t;

typedef struct jl_pred {
	uint8_t rule;             /* jl_rule */
	jl_cat_kind kinds[4];
	uint8_t nkinds;
	jl_cat_kind linked[4];    /* LAST_MEASURE: the measurement must belong to an encounter of these kinds */
	uint8_t nlinked;
	uint8_t classes;          /* 0: any */
	int32_t min;
	int32_t max_gap_days;
	bool rel;                 /* days given: [day_lo, day_hi] relative to the member's anchor day */
	int32_t day_lo, day_hi;
	bool at_ref;              /* EPISODE: active at the reference date */
	bool bp;                  /* LAST_MEASURE: blood pressure (two values) */
	double below, below2;     /* value < below (BP: SBP < below and DBP < below2) */
	int32_t old_age;          /* > 0: from this age, SBP < old_below */
	double old_below;
	int32_t dose;
	const char *system;       /* IDENTIFIER */
	const jl_followup_rule_t *fr;
	/*
	 * SCHEDULE: the checks' ages in months (ascending), how many of them
	 * belong to each year of life (4:2:2 = {4, 2, 2}, in age order), the
	 * window around each age (± months), and whether a member with no
	 * check due yet counts as met.
	 */
	uint8_t nsched, nsched_years;
	uint16_t sched_months[JL_CAT_MAX_SCHED];
	uint8_t sched_per_year[JL_CAT_MAX_SCHED_YEARS];
	uint8_t sched_tol_months;
	bool sched_none_due_met;
	struct jl_pred *all;
	uint32_t nall;
} jl_pred_t;

typedef struct jl_popdef {
	uint8_t pop;              /* jl_pop */
	jl_cat_kind episode;      /* MANAGED, REGISTERED */
	jl_cat_kind mgmt[4];      /* MANAGED: encounters that are management records */
	uint8_t nmgmt;
	int32_t age_min, age_max; /* years at the reference date, [min, max); -1 none */
	uint8_t sex;              /* 0 any, 1 male, 2 female */
	int32_t age_below_days;   /* DEATHS: age at death below this many days (0: none) */
	int32_t preg_days;        /* DEATHS: during a pregnancy or within this many days of its end (0: not required) */
	jl_icd_range_t icd[JL_CAT_MAX_ICD], icd_ex[JL_CAT_MAX_ICD]; /* CASES/DEATHS: include, exclude */
	uint8_t nicd, nicd_ex;
} jl_popdef_t;

typedef struct jl_indicator {
	const char *id, *name, *name_en, *section, *evidence, *unit, *plan, *source;
	double factor;            /* 100, 1000, 100000; 1 for life expectancy */
	uint8_t direction;        /* jl_dir */
	uint8_t window;           /* jl_window */
	uint8_t method;           /* jl_cat_method */
	bool poisson;             /* CI: exact Poisson (rates) rather than Wilson (proportions) */
	double vmin, vmax;        /* AGGREGATE: accepted value range */
	jl_popdef_t den;
	jl_popdef_t num_pop;      /* numerator population when it has its own (pop != NONE) */
	jl_pred_t num;            /* otherwise a rule on each denominator member */
	jl_icd_range_t icd[JL_CAT_MAX_ICD]; /* NCD: the cause groups */
	uint8_t nicd;
} jl_indicator_t;

typedef enum jl_tkind {
	JL_T_GE = 1, JL_T_GT, JL_T_LE, JL_T_LT, JL_T_DELTA, JL_T_ANNUAL, JL_T_STABLE, JL_T_INCREASING,
} jl_tkind;

typedef struct jl_cat_target {
	const char *indicator;
	char region[13];          /* "000000" = national */
	int32_t year;
	uint8_t kind;             /* jl_tkind */
	bool has_value, has_baseline, has_tolerance;
	double value, baseline, delta;
	double tolerance;         /* stable: how far from the baseline still counts as stable (the unit's) */
	int32_t baseline_year;
	const char *source;
} jl_cat_target_t;

typedef struct jl_catalog {
	const char *version, *canonical;
	int32_t bands[JL_CAT_MAX_BANDS]; /* age band lower bounds in years, ascending, bands[0] = 0 */
	uint32_t nbands;
	int64_t small_den;
	const char *kinds[JL_CAT_MAX_KINDS]; /* kinds[0] unused */
	uint32_t nkinds;
	jl_followup_rule_t *rules;
	uint32_t nrules;
	jl_indicator_t *inds;
	uint32_t ninds;
	jl_cat_target_t *targets;
	uint32_t ntargets;
	/*
	 * What the catalogue was made of: a hash of its text and of every
	 * targets text added, and the instant it was loaded (the engine that
	 * reads it is the running program's). Validators of answers (ETags) use
	 * both, so they change when the definitions, the targets or the
	 * program may have.
	 */
	uint64_t hash;
	int64_t loaded_us;
} jl_catalog_t;

/*
 * Loads a catalogue from JSON text (NULL: the embedded data/indicators.json).
 * Everything is allocated from a (the text is copied). Problems are issues
 * in d naming the element (e.g. "indicators[3].numerator.rule"):
 * JL_EINVAL for malformed JSON, JL_EINVALID for a bad definition.
 */
jl_rc jl_catalog_load(jl_arena_t *a, jl_str_t json, jl_catalog_t *out, jl_diag_t *d) JL_MUST_USE;

/*
 * Adds target rows from a targets file: {"targets": [ rows as in the
 * catalogue ]}. Rows for the same indicator, region and year replace
 * earlier ones. JL_EINVALID (issues in d) for unknown indicators or bad rows.
 */
jl_rc jl_catalog_add_targets(jl_arena_t *a, jl_catalog_t *c, jl_str_t json, jl_diag_t *d) JL_MUST_USE;

/* The indicator with this id (or NULL). */
const jl_indicator_t *jl_catalog_find(const jl_catalog_t *c, jl_str_t id);

/* The interned number of a kind string ("enc:htn-followup"); 0 when no definition uses it. */
jl_cat_kind jl_catalog_kind(const jl_catalog_t *c, jl_str_t kind);

/*
 * The target row for an indicator in a region and year: the region's own
 * row or else the nearest ancestor's (ancestors: codes from the region up,
 * ending with "000000"), for the year itself or else the nearest later
 * target year (a plan target). NULL when none.
 */
const jl_cat_target_t *jl_catalog_target(const jl_catalog_t *c, const char *indicator, const char *const *codes,
				     uint32_t ncodes, int32_t year);

/* 3-character ICD-10 category of a code ("I10" -> 'I'*100+10 form); 0 when not ICD-10 shaped. */
uint16_t jl_icd3(jl_str_t code);
bool jl_icd_in(const jl_icd_range_t *r, uint32_t n, uint16_t icd3);

/* The embedded catalogue text. */
jl_str_t jl_catalog_builtin(void);

#endif
