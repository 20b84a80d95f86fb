/*
 * run — the state of one generator run shared by its parts: the region
 * (divisions, institutions, practitioners, per-county service rates), the
 * output buffer and the sink. region.c builds it, person.c and health.c
 * generate residents into it, gen.c drives the whole. Internal to src/gen.
 */
#ifndef JL_GEN_RUN_H
#define JL_GEN_RUN_H

#include <stdio.h>

#include "base/arena.h"
#include "base/json.h"
#include "registry/div.h"
#include "gen/fw.h"
#include "gen/gen.h"
#include "gen/params.h"
#include "gen/rng.h"

#define JL_GEN_MAX_COUNTIES 64

typedef enum org_kind {
	OK_PREF_HOSP, OK_PREF_TCM, OK_PREF_MCH, OK_PREF_CDC, OK_COUNTY_HOSP, OK_COUNTY_TCM, OK_COUNTY_MCH,
	OK_COUNTY_CDC, OK_TOWN_HC, OK_CHC, OK_VILLAGE, OK_PRIVATE_HOSP, OK_CLINIC, OK_PHARMACY, OK_CAREHOME,
	OK_NKINDS
} org_kind;

typedef enum prac_role { PR_DOCTOR, PR_NURSE, PR_PHARMACIST, PR_VILLAGE_DOCTOR, PR_PUBLIC_HEALTH, PR_CARER } prac_role;

typedef struct jl_org {
	char id[24];
	char uscc[19];
	uint8_t kind;
	uint32_t county;       /* index */
	int32_t town, village; /* index or -1 */
	const char *name;
	uint32_t prac0, nprac;
} jl_org_t;

typedef struct jl_prac {
	char id[32];
	uint32_t org;
	uint8_t role, sex;
	const char *name;
} jl_prac_t;

typedef struct jl_outbreak {
	int notif;             /* index into params notif */
	uint32_t town;         /* township index */
	int start, end, peak;  /* days */
	double attack;         /* per-resident probability in the township over the window */
	int64_t cases;         /* injected (counted while generating) */
} jl_outbreak_t;

typedef struct jl_run {
	const jl_gen_cfg_t *cfg;
	const jl_gen_params_t *p;
	const jl_gen_sink_t *sink;
	jl_gen_stats_t *st;
	jl_arena_t *a;
	jl_geo_t geo;
	uint64_t seed;
	int day0, day1;                        /* window [day0, day1] */
	double scale;                          /* residents / real population */
	/* sampling */
	double *county_cum;                    /* [ncounties] */
	double *town_cum;                      /* [ntowns], within the town's county */
	double *vill_cum;                      /* [nvillages], within the village's town */
	const jl_gen_mix_t *county_mix[JL_GEN_MAX_COUNTIES];
	double *sur_cum[100];                  /* per ethnic code: cumulative surname weights over p->surnames */
	double *given_cum[2][4];               /* [sex][era] */
	/* institutions */
	jl_org_t *orgs;
	uint32_t norgs;
	jl_prac_t *pracs;
	uint32_t npracs;
	int32_t *town_hc, *vill_clinic;        /* per town / village: org index */
	uint32_t *vill_serial;                 /* per village: last health-record serial */
	uint32_t *org_mrn;                     /* per institution: last medical-record number */
	int32_t pref[4];                       /* OK_PREF_* */
	int32_t county_org[JL_GEN_MAX_COUNTIES][4]; /* OK_COUNTY_* */
	uint32_t kind0[JL_GEN_MAX_COUNTIES][OK_NKINDS], kindn[JL_GEN_MAX_COUNTIES][OK_NKINDS];
	/* per-county service rates (drawn once from the seed) */
	double r_followup[JL_GEN_MAX_COUNTIES], r_bp[JL_GEN_MAX_COUNTIES], r_fpg[JL_GEN_MAX_COUNTIES],
		r_smi[JL_GEN_MAX_COUNTIES], r_elderly[JL_GEN_MAX_COUNTIES], r_vaccine[JL_GEN_MAX_COUNTIES],
		r_child[JL_GEN_MAX_COUNTIES];
	/* outbreaks */
	jl_outbreak_t *outbreaks;
	int noutbreaks;
	/* citizen-ID sequence counters: open addressing on (address code, birth day) */
	uint64_t *seq_keys;
	uint16_t *seq_vals;
	size_t seq_cap, seq_n;
	/* output */
	jl_buf_t buf;
	jl_jw_t w;
	jl_rc rc;                              /* sticky: first sink failure */
	char cur_id[64];                       /* id of the resource being written */
	jl_buf_t line;                         /* ground-truth line */
} jl_run_t;

/* Sends the resource in r->buf to the sink, then clears the buffer. */
void jl_run_emit(jl_run_t *r, jl_gen_rt type);
/* Starts a new resource in r->buf. */
static inline jl_jw_t *jl_run_begin(jl_run_t *r, const char *type, const char *id)
{
	jl_buf_clear(&r->buf);
	jl_jw_init(&r->w, &r->buf, 0);
	snprintf(r->cur_id, sizeof r->cur_id, "%s", id);
	fw_begin(&r->w, type, id);
	return &r->w;
}
void jl_run_truth(jl_run_t *r, jl_gen_truth file);

/* region.c */
jl_rc jl_region_build(jl_run_t *r, jl_diag_t *d);
void jl_region_emit(jl_run_t *r);
/* A practitioner of org `o` with role `role` (any if none has it), chosen by k. */
const jl_prac_t *jl_region_prac(const jl_run_t *r, uint32_t o, int role, uint32_t k);
/* An org of kind in county c, chosen by k; -1 if none. */
int32_t jl_region_pick(const jl_run_t *r, uint32_t c, int kind, uint32_t k);
/* Writes an Address for village v (category, house number and period optional) into the current resource. */
void jl_region_address(jl_run_t *r, uint32_t v, const char *category, const char *line3, int from, int to);
/* Names: writes a Han name into sur/given (UTF-8) with pinyin. era 0-3. */
void jl_region_name(const jl_run_t *r, jl_rng_t *g, int eth, int sex, int era, char *sur, size_t nsur,
		    char *given, size_t ngiven, char *py, size_t npy);

/* person.c */
void jl_people_household(jl_run_t *r, int64_t hh, int64_t *next_idx, int64_t limit);

#endif
