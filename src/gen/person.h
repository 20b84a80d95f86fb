/*
 * person — one simulated resident: demographics decided when the household
 * is drawn, life events and health decided before anything is written (so
 * the Patient resource can carry its final state), then the Patient, its
 * duplicate records and its health resources. Internal to src/gen.
 */
#ifndef JL_GEN_PERSON_H
#define JL_GEN_PERSON_H

#include "gen/run.h"

enum { ST_RESIDENT = 0, ST_MIGRANT_IN = 1, ST_AWAY = 2 };

typedef struct jl_person {
	int64_t idx;            /* global index (births: the mother's index) */
	int birthno;            /* 0, or k for the mother's k-th birth in the window */
	char id[48];
	int sex;                /* 1 male, 2 female */
	int birth;              /* day */
	int eth;                /* GB 3304 */
	char sur[16], given[16], py[64];
	char cnid[20];
	char ehr[20];           /* 17-digit record number ("" when not 常住) */
	char phone[12];
	uint32_t village, county;
	uint32_t village2;      /* after a move within the region (when moved) */
	int moved;              /* day of that move (0 = none) */
	uint32_t reg_code;      /* household-registration county code (ID address code) */
	int status;             /* ST_* */
	int move_in, move_out;  /* days (0 = none) */
	int death;              /* day (0 = alive at the end) */
	int marital;            /* GB/T 2261.2 */
	int rel;                /* GB/T 4761 relation to the household head */
	int64_t hh;             /* household number */
	/* health plan */
	int htn_onset, htn_reg, t2dm_onset, t2dm_reg, smi_reg, smi_code;
	int contract;           /* day of the family-doctor contract (0 = none) */
	int32_t doctor;         /* practitioner index of the family doctor (-1) */
	int32_t hc;             /* township centre org index */
	int births[3];          /* birth days of children in the window */
	int nbirths;
	char child_sur[16], child_py[24]; /* surname for her children (her husband's) */
	const struct jl_person *mother;
} jl_person_t;

/* The village the person lives in on `day`. */
static inline uint32_t jl_person_village(const jl_person_t *p, int day)
{
	return p->moved && day >= p->moved ? p->village2 : p->village;
}

/* Age in completed years at `day`. */
int jl_person_age(const jl_person_t *p, int day);
/* First and last day the person is in the region and alive within the window (start > end if never). */
void jl_person_span(const jl_run_t *r, const jl_person_t *p, int *start, int *end);

/* health.c: decides the person's conditions, contract, births and death (before the Patient is written). */
void jl_health_plan(jl_run_t *r, jl_person_t *p);
/* health.c: writes the person's health resources. */
void jl_health_emit(jl_run_t *r, jl_person_t *p);
/* health.c: writes the outbreak ground truth at the end. */
void jl_health_outbreaks_init(jl_run_t *r);
void jl_health_outbreaks_truth(jl_run_t *r);

#endif
