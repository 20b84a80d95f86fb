/*
 * facts — the compact projection of the store that indicators are computed
 * from: one row per person of the resident register (sex, birth, death and
 * its cause, residence periods coded to villages, identifier flags) and one
 * row per event a catalogue definition refers to (encounters, episodes,
 * measurements, doses, notified cases), plus the latest aggregate
 * MeasureReport per region, year and measure.
 *
 * Each resource is turned into at most one row by jl_facts_add_resource
 * alone, without looking at other resources, keyed by the resource, and
 * independent of the hierarchy (villages as codes). So the rows can be
 * kept across runs and refreshed resource by resource (monitor/project:
 * the persistent projection), or built by one streaming scan of current
 * versions (jl_facts_scan). Finishing joins the rows for one hierarchy.
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
	uint64_t code;       /* the 12-digit village code as written (rows) */
	int32_t village;     /* village index in the hierarchy (finished) */
	int32_t from, to;    /* days, inclusive; INT32_MIN / INT32_MAX when open */
} jl_fact_res_t;

typedef struct jl_fact_person {
	int64_t h;           /* jl_store_target2("Patient", id): also the row's resource key */
	int32_t birth;       /* day */
	int32_t death;       /* day, JL_FACT_NOEND when alive */
	uint16_t cause;      /* ICD-10 category of the underlying cause of death (jl_icd3), 0 unknown */
	uint8_t sex;         /* 1 male, 2 female, 0 other/unknown */
	uint8_t idflags;     /* bit i: carries an identifier of the catalogue's i-th identifier system */
	uint8_t nres;
	jl_fact_res_t res[JL_FACT_NRES]; /* current-address periods (rows: 12-digit codes; finished: in the hierarchy) */
	uint32_t ev0, nev;   /* its events, sorted by day (finished) */
} jl_fact_person_t;

typedef struct jl_fact_ev {
	int64_t rk;          /* resource key (jl_store_target2 of the resource it came from) */
	int64_t ph;          /* person hash (rows); person index (finished) */
	int64_t eh;          /* Observation: the encounter it belongs to (0 none) */
	int32_t day;         /* encounter start, episode start, effective, occurrence, case date */
	int32_t end;         /* episode end day, JL_FACT_NOEND when open */
	float v1, v2;        /* measurements (BP: systolic, diastolic) */
	uint16_t icd;        /* cases: ICD-10 category */
	uint8_t kind;        /* jl_cat_kind or JL_FACT_KIND_CASE */
	uint8_t cls;         /* encounter class bit (JL_CLS_*) */
	uint8_t link;        /* Observation: kind of its encounter (finished) */
	uint8_t dose;
	bool has_v1, has_v2;
} jl_fact_ev_t;

typedef struct jl_fact_aggr {
	int64_t rk;          /* resource key of the MeasureReport */
	uint32_t ind;        /* indicator index */
	char region[13];
	int32_t year;
	double value;
	int64_t num, den;    /* when the report gave counts (-1 otherwise) */
	int64_t updated_us;
	char id[65];         /* the MeasureReport's id */
} jl_fact_aggr_t;

/* A cause of death (Observation 69453-9) before it is joined to its person. */
typedef struct jl_fact_cause {
	int64_t rk, ph, updated_us;
	uint16_t icd;
} jl_fact_cause_t;

/* An institution (Organization) and the division code of its first coded address. */
typedef struct jl_fact_org {
	int64_t rk;
	char code[13];
} jl_fact_org_t;

/*
 * Rows: what jl_facts_add_resource appends, one row at most per resource,
 * independent of any hierarchy (villages as codes) so that one set of rows
 * serves a prefecture or a whole province. jl_facts_finish_from turns rows
 * into the finished form the engine reads.
 */
typedef struct jl_fact_rows {
	jl_fact_person_t *persons;
	uint32_t npersons, cap_persons;
	jl_fact_ev_t *evs;
	uint32_t nevs, cap_evs;
	jl_fact_cause_t *causes;
	uint32_t ncauses, cap_causes;
	jl_fact_org_t *orgs;
	uint32_t norgs, cap_orgs;
	jl_fact_aggr_t *reports;
	uint32_t nreports, cap_reports;
	/* resource key -> row (jl_facts_index), for jl_facts_remove */
	int64_t *ix_keys;
	uint32_t *ix_vals, ix_cap, ix_n;
} jl_fact_rows_t;

typedef struct jl_facts {
	const jl_catalog_t *cat;
	const jl_regions_t *reg;   /* NULL for rows-only use (the projection) */
	/* finished (jl_facts_finish / _finish_from) */
	jl_fact_person_t *persons;
	uint32_t npersons;
	jl_fact_ev_t *evs;
	uint32_t nevs;
	jl_fact_aggr_t *aggr;      /* the latest report per region, year and measure */
	uint32_t naggr;
	const char *idsys[8];  /* identifier systems the catalogue refers to */
	uint32_t nidsys;
	uint32_t *inst;        /* institutions per hierarchy node, its subtree included (by address division code) */
	/*
	 * Populated villages (finished): those where some person of the facts
	 * has a current-address period — every member a cube counts lives in
	 * one, events included (they are counted where their person lives).
	 * vrank[v] (v = 0 … reg->nvillages) is the number of populated
	 * villages before village index v: a populated village's dense index,
	 * in hierarchy order, so that the villages of a node [vill0, vill0 +
	 * nvill) are the dense range [vrank[vill0], vrank[vill0 + nvill]),
	 * empty when none of them is populated. npopulated = vrank[nvillages].
	 */
	uint32_t *vrank;
	uint32_t npopulated;
	int64_t snapshot_us;   /* newest instant of the data reflected */
	int64_t resources, skipped; /* resources read; resources ignored as damaged */
	/* rows (before finishing) */
	jl_fact_rows_t rows;
} jl_facts_t;

/*
 * Prepares an empty projection for a catalogue and a hierarchy (both must
 * outlive it). reg may be NULL when only rows are kept (monitor/project).
 */
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

/*
 * Resolves events to persons and sorts them (by person, day, resource key:
 * a total order, so the result does not depend on the order rows were
 * added); then frees the rows. Call once after the last add.
 */
jl_rc jl_facts_finish(jl_facts_t *f) JL_MUST_USE;

/*
 * The finished form of src's rows in dst (initialised with its own
 * hierarchy, no rows of its own); src is only read, so a projection keeps
 * its rows while many finished copies are made from them. JL_ENOMEM.
 */
jl_rc jl_facts_finish_from(jl_facts_t *dst, const jl_facts_t *src) JL_MUST_USE;

/*
 * Keyed rows (for incremental refresh): jl_facts_index builds the map from
 * resource key (jl_store_target2(type, id)) to row, kept up to date by
 * later adds; jl_facts_remove drops the row of a resource (a deleted or
 * superseded version), a no-op when it has none. JL_ENOMEM.
 */
jl_rc jl_facts_index(jl_facts_t *f) JL_MUST_USE;
jl_rc jl_facts_remove(jl_facts_t *f, int64_t rk) JL_MUST_USE;
/* Rows held (all tables). */
uint64_t jl_facts_nrows(const jl_facts_t *f);

/*
 * Fingerprint of what the rows depend on in a catalogue (kinds, identifier
 * systems, linked encounter kinds, aggregate indicators, canonical): rows
 * built for another fingerprint must be rebuilt.
 */
uint64_t jl_facts_fingerprint(const jl_catalog_t *cat);

/*
 * Builds the projection from the current versions of a store on one
 * snapshot (Patient, EpisodeOfCare, Encounter, Observation, Immunization,
 * Condition, Organization, MeasureReport), then finishes it.
 */
jl_rc jl_facts_scan(jl_facts_t *f, jl_store_t *s, jl_diag_t *d) JL_MUST_USE;
/* The same without finishing: rows only (f->snapshot_us set). */
jl_rc jl_facts_scan_rows(jl_facts_t *f, jl_store_t *s, jl_diag_t *d) JL_MUST_USE;

/* The resource types that can yield rows (a store version of another type never does). */
bool jl_facts_type_used(jl_str_t type);

/*
 * Adds the rows of one stored version (body as the store keeps it): the
 * same as the scan does per resource. Damaged bodies are counted in
 * f->skipped. JL_ENOMEM.
 */
jl_rc jl_facts_add_version(jl_facts_t *f, jl_arena_t *a, jl_buf_t *buf, const jl_version_t *v) JL_MUST_USE;

/* Calendar helpers on day numbers (days since 1970-01-01). */
int32_t jl_facts_day(int y, int m, int d);
void jl_facts_civil(int32_t day, int *y, int *m, int *d);
/* Age in completed years (周岁) on `day` of someone born on `birth`. */
int32_t jl_facts_age(int32_t birth, int32_t day);
/* "YYYY[-MM[-DD[T…]]]" -> the day written (local date); false when not a date. */
bool jl_facts_parse_day(jl_str_t s, int32_t *day);

#endif
