/*
 * facts — the compact projection of the store that indicators are computed
 * from: one row per person of the resident register (sex, birth, death and
 * its cause, residence periods coded to villages, identifier flags) and one
 * row per event a catalogue definition refers to (encounters, episodes,
 * measurements, doses, notified cases), plus the latest aggregate
 * MeasureReport per region, year and measure.
 *
 * Today the projection is rebuilt by one streaming scan of current versions
 * on one snapshot (jl_facts_scan, store/store.h's scan). Each resource is
 * turned into rows by jl_facts_add_resource alone, without looking at other
 * resources, so the same function could run inside each write's
 * transaction and keep a facts table up to date the way the search index
 * is (docs/indicators.md, "Facts projection").
 *
 * Not thread-safe while being built; read-only (and shareable) after
 * jl_facts_finish.
 */
#ifndef JL_MONITOR_FACTS_H
#define JL_MONITOR_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"
#include "base/str.h"
#include "monitor/catalog.h"
#include "monitor/region.h"
#include "store/store.h"

#define JL_FACT_NRES 3
#define JL_FACT_KIND_CASE 255 /* a notified case (Condition, notifiable-disease-report) */
#define JL_FACT_NOEND INT32_MAX

typedef struct jl_fact_res {
	int32_t village;     /* village index in the hierarchy */
	int32_t from, to;    /* days, inclusive; INT32_MIN / INT32_MAX when open */
} jl_fact_res_t;

typedef struct jl_fact_person {
	int64_t h;           /* jl_store_target2("Patient", id) */
	int32_t birth;       /* day */
	int32_t death;       /* day, JL_FACT_NOEND when alive */
	uint16_t cause;      /* ICD-10 category of the underlying cause of death (jl_icd3), 0 unknown */
	uint8_t sex;         /* 1 male, 2 female, 0 other/unknown */
	uint8_t idflags;     /* bit i: carries an identifier of the catalogue's i-th identifier system */
	uint8_t nres;
	jl_fact_res_t res[JL_FACT_NRES]; /* current-address periods inside the hierarchy */
	uint32_t ev0, nev;   /* its events, sorted by day */
} jl_fact_person_t;

typedef struct jl_fact_ev {
	int64_t ph;          /* person hash (resolved to the person at finish) */
	int64_t eh;          /* Observation: the encounter it belongs to (0 none) */
	int32_t day;         /* encounter start, episode start, effective, occurrence, case date */
	int32_t end;         /* episode end day, JL_FACT_NOEND when open */
	float v1, v2;        /* measurements (BP: systolic, diastolic) */
	uint16_t icd;        /* cases: ICD-10 category */
	uint8_t kind;        /* jl_cat_kind or JL_FACT_KIND_CASE */
	uint8_t cls;         /* encounter class bit (JL_CLS_*) */
	uint8_t link;        /* Observation: kind of its encounter (at finish) */
	uint8_t dose;
	bool has_v1, has_v2;
} jl_fact_ev_t;

typedef struct jl_fact_aggr {
	uint32_t ind;        /* indicator index */
	char region[13];
	int32_t year;
	double value;
	int64_t num, den;    /* when the report gave counts (-1 otherwise) */
	int64_t updated_us;
	char id[65];         /* the MeasureReport's id */
} jl_fact_aggr_t;

typedef struct jl_facts {
	const jl_catalog_t *cat;
	const jl_regions_t *reg;
	jl_fact_person_t *persons;
	uint32_t npersons, cap_persons;
	jl_fact_ev_t *evs;
	uint32_t nevs, cap_evs;
	jl_fact_aggr_t *aggr;
	uint32_t naggr, cap_aggr;
	const char *idsys[8];  /* identifier systems the catalogue refers to */
	uint32_t nidsys;
	uint32_t *inst;        /* institutions per hierarchy node, its subtree included (by address division code) */
	int64_t snapshot_us;   /* newest instant of the scanned snapshot */
	int64_t resources, skipped; /* resources read; resources ignored as damaged */
	/* internal */
	int64_t *ph_keys;
	uint32_t *ph_vals, ph_cap;
	int64_t *enc_keys;
	uint8_t *enc_vals;
	uint32_t enc_n, enc_cap;
	struct { int64_t ph; uint16_t icd; } *causes;
	uint32_t ncauses, cap_causes;
} jl_facts_t;

/* Prepares an empty projection for a catalogue and a hierarchy (both must outlive it). */
jl_rc jl_facts_init(jl_facts_t *f, const jl_catalog_t *cat, const jl_regions_t *reg) JL_MUST_USE;
void jl_facts_dispose(jl_facts_t *f);

/*
 * Adds the rows of one resource given as its JSON tree (type from
 * resourceType). Resources of other types, and resources outside the
 * hierarchy, add nothing. JL_ENOMEM only: damaged data is skipped and
 * counted in f->skipped, never an error that stops the whole computation.
 */
jl_rc jl_facts_add_resource(jl_facts_t *f, const jl_json_t *res, int64_t updated_us) JL_MUST_USE;

/* The same from JSON text (for tests and tools). JL_EINVAL when it does not parse. */
jl_rc jl_facts_add_json(jl_facts_t *f, jl_str_t json) JL_MUST_USE;

/* Resolves events to persons and sorts them; call once after the last add. */
jl_rc jl_facts_finish(jl_facts_t *f) JL_MUST_USE;

/*
 * Builds the projection from the current versions of a store on one
 * snapshot (Patient, EpisodeOfCare, Encounter, Observation, Immunization,
 * Condition, Organization, MeasureReport), then finishes it.
 */
jl_rc jl_facts_scan(jl_facts_t *f, jl_store_t *s, jl_diag_t *d) JL_MUST_USE;

/* Calendar helpers on day numbers (days since 1970-01-01). */
int32_t jl_facts_day(int y, int m, int d);
void jl_facts_civil(int32_t day, int *y, int *m, int *d);
/* Age in completed years (周岁) on `day` of someone born on `birth`. */
int32_t jl_facts_age(int32_t birth, int32_t day);
/* "YYYY[-MM[-DD[T…]]]" -> the day written (local date); false when not a date. */
bool jl_facts_parse_day(jl_str_t s, int32_t *day);

#endif
