/*
 * health — a resident's health over the window: chronic conditions
 * (hypertension, type-2 diabetes, severe mental disorders, tuberculosis)
 * with their 基本公卫 registration and follow-ups, family-doctor contracts,
 * elderly check-ups, pregnancies and births, child health checks,
 * immunisations on the national schedule, outpatient and inpatient care,
 * notifiable infectious diseases (with injected outbreaks) and deaths.
 * Rules follow ../shared/standards/indicators.md §3-4; rates come from
 * params (docs/gen.md cites them).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "gen/person.h"

#define SYS_SVC JL_CANON "/CodeSystem/cn-service-type"
#define SYS_EOC JL_CANON "/CodeSystem/cn-episode-type"
#define SYS_CCAT "http://terminology.hl7.org/CodeSystem/condition-category"
#define SYS_CCLIN "http://terminology.hl7.org/CodeSystem/condition-clinical"
#define SYS_CVER "http://terminology.hl7.org/CodeSystem/condition-ver-status"

typedef struct code {
	const char *code, *display;
	double w;
} code_t;

/* --- plan ------------------------------------------------------------------ */

static int rand_day(jl_rng_t *g, int lo, int hi)
{
	return hi <= lo ? lo : lo + (int)jl_rng_below(g, (uint32_t)(hi - lo + 1));
}

static double mortality(const jl_gen_params_t *pa, int age)
{
	if (age <= 0)
		return pa->infant_mortality;
	if (age < 5)
		return pa->child_mortality;
	double m = pa->gompertz_a * exp(pa->gompertz_b * age);
	return m > 0.5 ? 0.5 : m;
}

/* The day a person reaches `age`. */
static int day_at_age(const jl_person_t *p, int age)
{
	jl_ymd_t b = jl_ymd(p->birth);
	int d = b.d;
	if (b.m == 2 && d == 29 && !jl_is_leap(b.y + age))
		d = 28;
	return jl_day(b.y + age, b.m, d);
}

static void chronic_plan(jl_run_t *r, jl_person_t *p, jl_rng_t *g, const jl_gen_curve_t *prev, double registered,
			 int *onset, int *reg)
{
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	int a0 = jl_person_age(p, r->day0);
	*onset = *reg = 0;
	if (a0 >= 18 && jl_rng_bern(g, jl_gen_curve_at(prev, a0))) {
		int span = (a0 - 18) * 365;
		if (span > 20 * 365)
			span = 20 * 365;
		*onset = r->day0 - 1 - (int)jl_rng_below(g, (uint32_t)span + 1);
	} else {
		for (int y = y0; y <= y1 && !*onset; y++) {
			int a = jl_person_age(p, jl_day(y, 7, 1));
			if (a < 18)
				continue;
			double pa = jl_gen_curve_at(prev, a), pb = jl_gen_curve_at(prev, a + 1);
			double inc = pb > pa && pa < 1 ? (pb - pa) / (1 - pa) : 0;
			if (jl_rng_bern(g, inc))
				*onset = rand_day(g, jl_day(y, 1, 1), jl_day(y, 12, 31));
		}
	}
	if (!*onset || !jl_rng_bern(g, registered))
		return;
	int at35 = day_at_age(p, 35);
	int d = *onset + 7 + (int)jl_rng_below(g, 300);
	if (d < at35)
		d = at35 + (int)jl_rng_below(g, 200);
	if (d > r->day1)
		return;
	*reg = d;
}

void jl_health_plan(jl_run_t *r, jl_person_t *p)
{
	const jl_gen_params_t *pa = r->p;
	jl_rng_t g = jl_rng_key(r->seed, JL_RNG_HEALTH, (uint64_t)p->idx * 8 + (uint64_t)p->birthno);
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	/* Death. */
	for (int y = y0; y <= y1 && !p->death; y++) {
		int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
		if (p->birth > hi)
			break;
		if (p->birth > lo)
			lo = p->birth;
		int a = jl_person_age(p, lo);
		double m = mortality(pa, a) * (hi - lo + 1) / 365.0;
		if (jl_rng_bern(&g, m))
			p->death = rand_day(&g, lo, hi);
	}
	if (p->move_out && p->death > p->move_out)
		p->death = 0; /* died elsewhere, unknown here */
	chronic_plan(r, p, &g, &pa->htn_prev, pa->htn_registered, &p->htn_onset, &p->htn_reg);
	chronic_plan(r, p, &g, &pa->t2dm_prev, pa->t2dm_registered, &p->t2dm_onset, &p->t2dm_reg);
	int a0 = jl_person_age(p, r->day0);
	if (a0 >= 15 && jl_rng_bern(&g, pa->smi_prev)) {
		p->smi_reg = r->day0 - 30 - (int)jl_rng_below(&g, 3000);
		if (p->smi_reg < day_at_age(p, 14))
			p->smi_reg = day_at_age(p, 14) + (int)jl_rng_below(&g, 300);
		p->smi_code = (int)jl_rng_below(&g, 100);
	}
	/* Births (women 15-49), at least two years apart. */
	if (p->sex == 2 && p->status != ST_AWAY) {
		int last = -100000;
		for (int y = y0; y <= y1 && p->nbirths < 3; y++) {
			int a = jl_person_age(p, jl_day(y, 7, 1));
			if (a < 15 || a > 49)
				continue;
			if (jl_rng_bern(&g, jl_gen_curve_at(&pa->fertility, a))) {
				int b = rand_day(&g, jl_day(y, 1, 1), jl_day(y, 12, 31));
				int s, e;
				jl_person_span(r, p, &s, &e);
				if (b - last < 730 || b < s || b > e)
					continue;
				p->births[p->nbirths++] = last = b;
			}
		}
	}
	/* Family-doctor contract: key groups more often. */
	bool key = a0 >= 65 || (a0 <= 6) || p->htn_reg || p->t2dm_reg || p->smi_reg || p->nbirths;
	if (p->status != ST_AWAY && jl_rng_bern(&g, key ? pa->contract_key : pa->contract_general)) {
		int s, e;
		jl_person_span(r, p, &s, &e);
		if (s <= e) {
			p->contract = jl_rng_bern(&g, 0.6) ? r->day0 - 1 - (int)jl_rng_below(&g, 1000)
							   : rand_day(&g, s, e);
			if (p->contract < p->birth)
				p->contract = p->birth + 30 > e ? e : p->birth + 30;
			const jl_prac_t *dr = jl_region_prac(r, (uint32_t)p->hc, PR_DOCTOR, (uint32_t)p->idx);
			p->doctor = (int32_t)(dr - r->pracs);
		}
	}
}

/* --- writers ----------------------------------------------------------------- */

typedef struct ectx {
	jl_run_t *r;
	jl_person_t *p;
	jl_rng_t g;
	int n; /* per-person resource counter */
} ectx_t;

static void rid(ectx_t *c, const char *prefix, char *out, size_t n)
{
	snprintf(out, n, "%s-%s-%d", prefix, c->p->id + 4, ++c->n);
}

static void subject(ectx_t *c, const char *k)
{
	fw_ref(&c->r->w, k, "Patient", c->p->id);
}

static const jl_prac_t *org_doctor(ectx_t *c, int32_t o, int role)
{
	return jl_region_prac(c->r, (uint32_t)o, role, jl_rng_below(&c->g, 1u << 20));
}

/* Writes an Encounter; returns its id in out. */
static void encounter(ectx_t *c, char *out, size_t n, const char *cls, const char *svc, const char *svc_name,
		      int32_t org, const jl_prac_t *pr, int day, int days, const char *reason_sys,
		      const char *reason, const char *reason_name)
{
	jl_run_t *r = c->r;
	rid(c, "enc", out, n);
	jl_jw_t *w = jl_run_begin(r, "Encounter", out);
	fw_key_str(w, "status", "finished");
	jl_jw_keyc(w, "class");
	fw_coding(w, SYS_ACT, cls, NULL);
	fw_cc_arr(w, "type", SYS_SVC, svc, svc_name);
	subject(c, "subject");
	if (pr) {
		jl_jw_keyc(w, "participant");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_ref(w, "individual", "Practitioner", pr->id);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	int min = 8 * 60 + (int)jl_rng_below(&c->g, 9 * 60);
	jl_jw_keyc(w, "period");
	jl_jw_obj_begin(w);
	fw_key_dt(w, "start", day, min);
	fw_key_dt(w, "end", day + days, days ? 10 * 60 : min + 20);
	jl_jw_obj_end(w);
	if (reason)
		fw_cc_arr(w, "reasonCode", reason_sys, reason, reason_name);
	fw_ref(w, "serviceProvider", "Organization", r->orgs[org].id);
	jl_jw_keyc(w, "location");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	char loc[32];
	snprintf(loc, sizeof loc, "loc-%d", org);
	fw_ref(w, "location", "Location", loc);
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	jl_run_emit(r, JL_GEN_ENCOUNTER);
}

static void obs_begin(ectx_t *c, const char *enc, const char *cat, const char *cat_name, const char *sys,
		      const char *code, const char *display, int day, const jl_prac_t *pr)
{
	char id[64];
	rid(c, "obs", id, sizeof id);
	jl_jw_t *w = jl_run_begin(c->r, "Observation", id);
	fw_key_str(w, "status", "final");
	fw_cc_arr(w, "category", SYS_OBSCAT, cat, cat_name);
	fw_cc(w, "code", sys, code, display);
	subject(c, "subject");
	if (enc)
		fw_ref(w, "encounter", "Encounter", enc);
	fw_key_dt(w, "effectiveDateTime", day, 9 * 60 + (int)jl_rng_below(&c->g, 8 * 60));
	if (pr) {
		jl_jw_keyc(w, "performer");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		char ref[48];
		snprintf(ref, sizeof ref, "Practitioner/%s", pr->id);
		fw_key_str(w, "reference", ref);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
}

static void obs_qty(ectx_t *c, const char *enc, const char *cat, const char *cat_name, const char *loinc,
		    const char *display, int day, const jl_prac_t *pr, double v, int dec, const char *unit)
{
	obs_begin(c, enc, cat, cat_name, SYS_LOINC, loinc, display, day, pr);
	fw_qty(&c->r->w, "valueQuantity", v, dec, unit);
	jl_jw_obj_end(&c->r->w);
	jl_run_emit(c->r, JL_GEN_OBSERVATION);
}

static void obs_bp(ectx_t *c, const char *enc, int day, const jl_prac_t *pr, int sbp, int dbp)
{
	jl_jw_t *w = &c->r->w;
	obs_begin(c, enc, "vital-signs", "Vital Signs", SYS_LOINC, "85354-9", "Blood pressure panel", day, pr);
	jl_jw_keyc(w, "component");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_cc(w, "code", SYS_LOINC, "8480-6", "Systolic blood pressure");
	fw_qty(w, "valueQuantity", sbp, 0, "mm[Hg]");
	jl_jw_obj_end(w);
	jl_jw_obj_begin(w);
	fw_cc(w, "code", SYS_LOINC, "8462-4", "Diastolic blood pressure");
	fw_qty(w, "valueQuantity", dbp, 0, "mm[Hg]");
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	jl_run_emit(c->r, JL_GEN_OBSERVATION);
}

static void condition(ectx_t *c, char *out, size_t n, const char *cat, const char *enc, const char *icd,
		      const char *name, int onset, int abate, int recorded, const jl_prac_t *pr, bool notifiable)
{
	rid(c, "cond", out, n);
	jl_jw_t *w = jl_run_begin(c->r, "Condition", out);
	fw_cc(w, "clinicalStatus", SYS_CCLIN, abate ? "resolved" : "active", NULL);
	fw_cc(w, "verificationStatus", SYS_CVER, "confirmed", NULL);
	jl_jw_keyc(w, "category");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "coding");
	jl_jw_arr_begin(w);
	fw_coding(w, SYS_CCAT, cat, NULL);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	if (notifiable) {
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "coding");
		jl_jw_arr_begin(w);
		fw_coding(w, JL_CANON "/CodeSystem/cn-condition-category", "notifiable-disease-report", "法定传染病报告");
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
	fw_cc(w, "code", SYS_ICD10, icd, name);
	subject(c, "subject");
	if (enc)
		fw_ref(w, "encounter", "Encounter", enc);
	fw_key_date(w, "onsetDateTime", onset);
	if (abate)
		fw_key_date(w, "abatementDateTime", abate);
	fw_key_date(w, "recordedDate", recorded);
	if (pr)
		fw_ref(w, "asserter", "Practitioner", pr->id);
	jl_jw_obj_end(w);
	jl_run_emit(c->r, JL_GEN_CONDITION);
}

static void episode(ectx_t *c, const char *type, const char *name, int32_t org, int start, int end,
		    const jl_prac_t *mgr, bool team, const char *cond)
{
	char id[64];
	rid(c, "eoc", id, sizeof id);
	jl_jw_t *w = jl_run_begin(c->r, "EpisodeOfCare", id);
	fw_key_str(w, "status", end ? "finished" : "active");
	if (cond) {
		jl_jw_keyc(w, "diagnosis");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_ref(w, "condition", "Condition", cond);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	fw_cc_arr(w, "type", SYS_EOC, type, name);
	subject(c, "patient");
	fw_ref(w, "managingOrganization", "Organization", c->r->orgs[org].id);
	fw_period(w, "period", start, end);
	if (mgr)
		fw_ref(w, "careManager", "Practitioner", mgr->id);
	if (team && (c->r->orgs[org].kind == OK_TOWN_HC || c->r->orgs[org].kind == OK_CHC)) {
		jl_jw_keyc(w, "team");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		char ref[40];
		snprintf(ref, sizeof ref, "CareTeam/team-%d", org);
		fw_key_str(w, "reference", ref);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	jl_jw_obj_end(w);
	jl_run_emit(c->r, JL_GEN_EPISODEOFCARE);
}

static void medication(ectx_t *c, const char *enc, const char *atc, const char *name, const char *dose, int day,
		       const jl_prac_t *pr)
{
	char id[64];
	rid(c, "med", id, sizeof id);
	jl_jw_t *w = jl_run_begin(c->r, "MedicationRequest", id);
	fw_key_str(w, "status", "completed");
	fw_key_str(w, "intent", "order");
	fw_cc(w, "medicationCodeableConcept", SYS_ATC, atc, name);
	subject(c, "subject");
	if (enc)
		fw_ref(w, "encounter", "Encounter", enc);
	fw_key_date(w, "authoredOn", day);
	if (pr)
		fw_ref(w, "requester", "Practitioner", pr->id);
	jl_jw_keyc(w, "dosageInstruction");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_key_str(w, "text", dose);
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	jl_run_emit(c->r, JL_GEN_MEDICATIONREQUEST);
}

/* --- chronic disease management --------------------------------------------- */

typedef enum { CH_HTN, CH_T2DM } chronic_kind;

static void chronic_followups(ectx_t *c, chronic_kind kind, int reg, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	const jl_gen_params_t *pa = r->p;
	int32_t hc = p->hc;
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	double ctl_rate = kind == CH_HTN ? r->r_bp[p->county] : r->r_fpg[p->county];
	for (int y = y0; y <= y1 && !r->rc; y++) {
		int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
		if (lo < s)
			lo = s;
		if (lo < reg)
			lo = reg;
		if (hi > e)
			hi = e;
		if (hi < lo)
			continue;
		int days[12], nd = 0;
		bool compliant = jl_rng_bern(&c->g, r->r_followup[p->county]);
		if (compliant && hi - lo >= 90) {
			/* >= 4 face-to-face visits, spread over the time the patient is under management this year. */
			int k = 4 + (jl_rng_bern(&c->g, 0.25) ? 1 : 0), span = (hi - lo + 1) / k;
			for (int i = 0; i < k; i++)
				days[nd++] = lo + i * span + (int)jl_rng_below(&c->g, (uint32_t)span);
		} else if (compliant) {
			days[nd++] = rand_day(&c->g, lo, hi);
		} else {
			/* 1-3 visits: managed in the year, but not to the rule (lost to follow-up appears as dropping out). */
			int k = 1 + (int)jl_rng_below(&c->g, 3);
			for (int i = 0; i < k; i++)
				days[nd++] = rand_day(&c->g, lo, hi);
		}
		/* Chronological order, so that "last follow-up" is the last written. */
		for (int i = 1; i < nd; i++)
			for (int j = i; j > 0 && days[j] < days[j - 1]; j--) {
				int t = days[j];
				days[j] = days[j - 1];
				days[j - 1] = t;
			}
		bool year_ctl = jl_rng_bern(&c->g, ctl_rate);
		for (int i = 0; i < nd && !r->rc; i++) {
			bool phone = !compliant && jl_rng_bern(&c->g, 0.3);
			bool extra_phone = compliant && jl_rng_bern(&c->g, pa->phone_followup);
			int32_t org = hc;
			if (p->status != ST_AWAY && r->vill_clinic[p->village] >= 0 && jl_rng_bern(&c->g, 0.35))
				org = r->vill_clinic[p->village];
			const jl_prac_t *pr = org == p->hc && p->doctor >= 0 ? &r->pracs[p->doctor] : org_doctor(c, org, PR_DOCTOR);
			char enc[64];
			const char *svc = kind == CH_HTN ? "htn-followup" : "t2dm-followup";
			const char *svc_name = kind == CH_HTN ? "高血压患者随访" : "2型糖尿病患者随访";
			encounter(c, enc, sizeof enc, phone ? "VR" : (jl_rng_bern(&c->g, 0.3) ? "HH" : "AMB"), svc, svc_name,
				  org, pr, days[i], 0, SYS_ICD10, kind == CH_HTN ? "I10" : "E11.9",
				  kind == CH_HTN ? "特发性(原发性)高血压" : "2型糖尿病不伴有并发症");
			if (phone)
				continue;
			bool last = i == nd - 1;
			bool ctl = last ? year_ctl : jl_rng_bern(&c->g, ctl_rate);
			if (kind == CH_HTN) {
				int old = jl_person_age(p, days[i]) >= 65;
				int sbp, dbp;
				if (ctl) {
					sbp = 122 + (int)(jl_rng_normal(&c->g) * 7);
					dbp = 78 + (int)(jl_rng_normal(&c->g) * 5);
					int smax = old ? 149 : 139;
					sbp = sbp > smax ? smax - (int)jl_rng_below(&c->g, 6) : sbp < 100 ? 100 : sbp;
					dbp = dbp > 89 ? 89 - (int)jl_rng_below(&c->g, 5) : dbp < 60 ? 60 : dbp;
				} else {
					sbp = (old ? 158 : 150) + (int)fabs(jl_rng_normal(&c->g) * 10);
					dbp = 88 + (int)(jl_rng_normal(&c->g) * 6);
					if (dbp < 70)
						dbp = 70;
				}
				obs_bp(c, enc, days[i], pr, sbp, dbp);
			} else {
				double v = ctl ? 5.6 + fabs(jl_rng_normal(&c->g)) * 0.6 : 7.4 + fabs(jl_rng_normal(&c->g)) * 1.6;
				if (ctl && v >= 6.95)
					v = 6.9;
				obs_qty(c, enc, "laboratory", "Laboratory", "14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma",
					days[i], pr, v, 1, "mmol/L");
			}
			if (extra_phone) {
				char e2[64];
				int d2 = days[i] + 20 + (int)jl_rng_below(&c->g, 30);
				if (d2 <= hi)
					encounter(c, e2, sizeof e2, "VR", svc, svc_name, org, pr, d2, 0, SYS_ICD10,
						  kind == CH_HTN ? "I10" : "E11.9", NULL);
			}
		}
	}
}

static const code_t smi_codes[] = {
	{"F20.9", "精神分裂症", 60}, {"F25.9", "分裂情感性障碍", 6}, {"F22.0", "偏执性精神病", 5},
	{"F31.9", "双相情感障碍", 15}, {"F06.8", "癫痫所致精神障碍", 6}, {"F79.1", "精神发育迟滞伴发精神障碍", 8},
};

static const code_t *pick_code(jl_rng_t *g, const code_t *t, size_t n)
{
	double tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += t[i].w;
	double x = jl_rng_u(g) * tot;
	for (size_t i = 0; i < n; i++) {
		if (x < t[i].w)
			return &t[i];
		x -= t[i].w;
	}
	return &t[n - 1];
}

static void smi_followups(ectx_t *c, const char *cond, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	(void)cond;
	for (int y = y0; y <= y1 && !r->rc; y++) {
		int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
		if (lo < s)
			lo = s;
		if (hi > e)
			hi = e;
		if (hi < lo)
			continue;
		int days[12], nd = 0;
		if (jl_rng_bern(&c->g, r->r_smi[p->county])) {
			/* Every 80-90 days: no gap above 92 days, >= 4 a full year. */
			for (int d = lo + (int)jl_rng_below(&c->g, 15); d <= hi && nd < 6; d += 80 + (int)jl_rng_below(&c->g, 11))
				days[nd++] = d;
		} else {
			int k = jl_rng_bern(&c->g, 0.2) ? 0 : 1 + (int)jl_rng_below(&c->g, 3);
			for (int i = 0; i < k; i++)
				days[nd++] = rand_day(&c->g, lo, hi);
			for (int i = 1; i < nd; i++)
				for (int j = i; j > 0 && days[j] < days[j - 1]; j--) {
					int t = days[j];
					days[j] = days[j - 1];
					days[j - 1] = t;
				}
		}
		for (int i = 0; i < nd && !r->rc; i++) {
			const jl_prac_t *pr = org_doctor(c, p->hc, PR_PUBLIC_HEALTH);
			char enc[64];
			encounter(c, enc, sizeof enc, jl_rng_bern(&c->g, 0.5) ? "HH" : "AMB", "smi-followup",
				  "严重精神障碍患者随访", p->hc, pr, days[i], 0, NULL, NULL, NULL);
			int risk = jl_rng_bern(&c->g, 0.8) ? 0 : 1 + (int)jl_rng_below(&c->g, jl_rng_bern(&c->g, 0.8) ? 2 : 5);
			obs_begin(c, enc, "survey", "Survey", JL_CANON "/CodeSystem/cn-assessment", "smi-risk",
				  "严重精神障碍危险性评估", days[i], pr);
			jl_jw_keyc(&r->w, "valueInteger");
			jl_jw_int(&r->w, risk);
			jl_jw_obj_end(&r->w);
			jl_run_emit(r, JL_GEN_OBSERVATION);
		}
	}
}

/* --- elderly, maternal and child ----------------------------------------------- */

static void elderly_checks(ectx_t *c, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	for (int y = y0; y <= y1 && !r->rc; y++) {
		int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
		if (jl_person_age(p, hi) < 65)
			continue;
		if (lo < s)
			lo = s;
		if (hi > e)
			hi = e;
		if (hi < lo || !jl_rng_bern(&c->g, r->r_elderly[p->county]))
			continue;
		int d = rand_day(&c->g, lo, hi);
		const jl_prac_t *pr = org_doctor(c, p->hc, PR_DOCTOR);
		char enc[64];
		encounter(c, enc, sizeof enc, "AMB", "elderly-check", "老年人健康管理(年度体检)", p->hc, pr, d, 0, NULL, NULL,
			  NULL);
		bool htn = p->htn_onset && p->htn_onset <= d;
		int sbp = htn ? 135 + (int)(jl_rng_normal(&c->g) * 14) : 124 + (int)(jl_rng_normal(&c->g) * 11);
		int dbp = htn ? 84 + (int)(jl_rng_normal(&c->g) * 8) : 76 + (int)(jl_rng_normal(&c->g) * 7);
		obs_bp(c, enc, d, pr, sbp, dbp);
		bool dm = p->t2dm_onset && p->t2dm_onset <= d;
		double fpg = dm ? 7.2 + jl_rng_normal(&c->g) * 1.3 : 5.2 + jl_rng_normal(&c->g) * 0.45;
		obs_qty(c, enc, "laboratory", "Laboratory", "14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma", d, pr,
			fpg < 3.5 ? 3.5 : fpg, 1, "mmol/L");
		obs_qty(c, enc, "vital-signs", "Vital Signs", "39156-5", "Body mass index (BMI) [Ratio]", d, pr,
			23.2 + jl_rng_normal(&c->g) * 3.2, 1, "kg/m2");
	}
}

/* WHO growth medians (both sexes, rounded): months → weight kg, length/height cm. */
static const double growth[][3] = {{0, 3.3, 50}, {1, 4.5, 54.7}, {3, 6.2, 61.4}, {6, 7.9, 67.6}, {8, 8.6, 70.6},
				   {12, 9.6, 75.7}, {18, 10.9, 82.3}, {24, 12.2, 87.8}, {30, 13.3, 92.1},
				   {36, 14.3, 96.1}, {48, 16.3, 103.3}, {60, 18.3, 110}, {72, 20.5, 116}, {84, 22.9, 121.7}};

static void growth_at(double months, double *wt, double *ht)
{
	size_t n = sizeof growth / sizeof *growth;
	for (size_t i = 1; i < n; i++)
		if (months <= growth[i][0] || i == n - 1) {
			double f = (months - growth[i - 1][0]) / (growth[i][0] - growth[i - 1][0]);
			if (f > 1)
				f = 1;
			*wt = growth[i - 1][1] + f * (growth[i][1] - growth[i - 1][1]);
			*ht = growth[i - 1][2] + f * (growth[i][2] - growth[i - 1][2]);
			return;
		}
}

/* The chance that a child outside systematic management comes to a given check. */
#define UNMANAGED_CHECK 0.5

static void child_checks(ectx_t *c, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	/* Days after birth of each check (indicators.md §4.5): newborn visit, 满月, 3…36 months, 4-6 years. */
	static const int at[] = {7, 29, 91, 182, 243, 365, 547, 730, 912, 1095, 1461, 1826, 2191};
	/*
	 * The county's rate is the share of children under systematic management
	 * (3岁以下儿童系统管理率: every check of the 4:2:2 schedule). Drawn once per
	 * child, not per check: eight independent draws at 0.93 would leave only
	 * 0.93^8 = 56 % with the full schedule. A child outside management still
	 * comes to some checks (half of them), rarely to all.
	 */
	bool managed = jl_rng_bern(&c->g, r->r_child[p->county]);
	for (size_t i = 0; i < sizeof at / sizeof *at && !r->rc; i++) {
		int d = p->birth + at[i] + (i ? (int)jl_rng_below(&c->g, 21) - 10 : (int)jl_rng_below(&c->g, 5));
		if (d < s || d > e)
			continue;
		double pr_ok = i == 0 ? r->p->newborn_visit : managed ? 1.0 : UNMANAGED_CHECK;
		if (!jl_rng_bern(&c->g, pr_ok))
			continue;
		const jl_prac_t *pr = org_doctor(c, p->hc, PR_DOCTOR);
		char enc[64];
		encounter(c, enc, sizeof enc, i == 0 ? "HH" : "AMB", i == 0 ? "newborn-visit" : "child-health-check",
			  i == 0 ? "新生儿家庭访视" : "儿童健康检查", p->hc, pr, d, 0, NULL, NULL, NULL);
		double wt, ht;
		growth_at((d - p->birth) / 30.44, &wt, &ht);
		double z = jl_rng_normal(&c->g);
		obs_qty(c, enc, "vital-signs", "Vital Signs", "29463-7", "Body weight", d, pr, wt * (1 + 0.09 * z), 2, "kg");
		obs_qty(c, enc, "vital-signs", "Vital Signs", "8302-2", "Body height", d, pr,
			ht * (1 + 0.035 * (0.7 * z + 0.7 * jl_rng_normal(&c->g))), 1, "cm");
	}
}

typedef struct vaccine {
	const char *code, *name, *cvx;
	int dose, at_days;
} vaccine_t;

/* 国家免疫规划疫苗儿童免疫程序 (2021). */
static const vaccine_t schedule[] = {
	{"HepB", "乙肝疫苗", "08", 1, 0},        {"BCG", "卡介苗", "19", 1, 0},
	{"HepB", "乙肝疫苗", "08", 2, 30},       {"IPV", "脊灰灭活疫苗", "10", 1, 61},
	{"IPV", "脊灰灭活疫苗", "10", 2, 91},    {"DTaP", "百白破疫苗", "20", 1, 91},
	{"bOPV", "脊灰减毒活疫苗", "178", 3, 122}, {"DTaP", "百白破疫苗", "20", 2, 122},
	{"DTaP", "百白破疫苗", "20", 3, 152},    {"HepB", "乙肝疫苗", "08", 3, 182},
	{"MPSV-A", "A群流脑多糖疫苗", NULL, 1, 182}, {"MMR", "麻腮风疫苗", "03", 1, 243},
	{"JE-L", "乙脑减毒活疫苗", NULL, 1, 243}, {"MPSV-A", "A群流脑多糖疫苗", NULL, 2, 273},
	{"MMR", "麻腮风疫苗", "03", 2, 547},     {"DTaP", "百白破疫苗", "20", 4, 547},
	{"HepA-L", "甲肝减毒活疫苗", NULL, 1, 547}, {"JE-L", "乙脑减毒活疫苗", NULL, 2, 730},
	{"MPSV-AC", "A群C群流脑多糖疫苗", NULL, 1, 1095}, {"bOPV", "脊灰减毒活疫苗", "178", 4, 1461},
	{"DT", "白破疫苗", "28", 1, 2191},       {"MPSV-AC", "A群C群流脑多糖疫苗", NULL, 2, 2191},
};

static void immunizations(ectx_t *c, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	for (size_t i = 0; i < sizeof schedule / sizeof *schedule && !r->rc; i++) {
		const vaccine_t *v = &schedule[i];
		int delay = v->at_days ? (int)(-log(1 - jl_rng_u(&c->g) * 0.999) * 9) : 0;
		int d = p->birth + v->at_days + delay;
		if (d < s || d > e || !jl_rng_bern(&c->g, r->r_vaccine[p->county]))
			continue;
		int32_t org = v->at_days == 0 ? r->county_org[p->county][0] : p->hc;
		const jl_prac_t *pr = org_doctor(c, org, PR_NURSE);
		char id[64];
		rid(c, "imm", id, sizeof id);
		jl_jw_t *w = jl_run_begin(r, "Immunization", id);
		fw_key_str(w, "status", "completed");
		jl_jw_keyc(w, "vaccineCode");
		jl_jw_obj_begin(w);
		jl_jw_keyc(w, "coding");
		jl_jw_arr_begin(w);
		fw_coding(w, JL_CANON "/CodeSystem/cn-nip-vaccine", v->code, v->name);
		if (v->cvx)
			fw_coding(w, SYS_CVX, v->cvx, NULL);
		jl_jw_arr_end(w);
		fw_key_str(w, "text", v->name);
		jl_jw_obj_end(w);
		subject(c, "patient");
		fw_key_dt(w, "occurrenceDateTime", d, 9 * 60 + (int)jl_rng_below(&c->g, 7 * 60));
		jl_jw_keyc(w, "primarySource");
		jl_jw_bool(w, true);
		char loc[32];
		snprintf(loc, sizeof loc, "loc-%d", org);
		fw_ref(w, "location", "Location", loc);
		char lot[24];
		snprintf(lot, sizeof lot, "%04d%02u%03u", jl_ymd(d).y, 1 + jl_rng_below(&c->g, 12), jl_rng_below(&c->g, 1000));
		fw_key_str(w, "lotNumber", lot);
		jl_jw_keyc(w, "performer");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_ref(w, "actor", "Practitioner", pr->id);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		jl_jw_keyc(w, "protocolApplied");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_key_str(w, "series", "国家免疫规划");
		jl_jw_keyc(w, "doseNumberPositiveInt");
		jl_jw_int(w, v->dose);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
		jl_run_emit(r, JL_GEN_IMMUNIZATION);
	}
}

static void pregnancies(ectx_t *c, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	const jl_gen_params_t *pa = r->p;
	for (int b = 0; b < p->nbirths && !r->rc; b++) {
		int birth = p->births[b];
		int lmp = birth - 273 - (int)jl_rng_below(&c->g, 15);
		int weeks_first = jl_rng_bern(&c->g, pa->prenatal_early) ? 7 + (int)jl_rng_below(&c->g, 6) : 13 + (int)jl_rng_below(&c->g, 7);
		int32_t mch = r->county_org[p->county][2];
		int32_t hosp = jl_rng_bern(&c->g, 0.6) ? r->county_org[p->county][0] : jl_rng_bern(&c->g, 0.5) ? mch : r->pref[0];
		episode(c, "pregnancy", "孕产期保健", p->hc, lmp + weeks_first * 7 > s ? lmp + weeks_first * 7 : s,
			birth + 42 <= r->day1 ? birth + 42 : 0, org_doctor(c, p->hc, PR_DOCTOR), false, NULL);
		/* Antenatal visits: the first (建册), then 16-20, 21-24, 28-36, 37-40 weeks. */
		static const int wlo[] = {16, 21, 28, 37}, whi[] = {20, 24, 36, 39};
		int k = jl_rng_bern(&c->g, pa->prenatal_5) ? 4 : 1 + (int)jl_rng_below(&c->g, 3);
		int visit_days[5];
		visit_days[0] = lmp + weeks_first * 7;
		int nv = 1;
		for (int i = 0; i < 4 && nv <= k; i++) {
			if (k < 4 && jl_rng_bern(&c->g, 0.25))
				continue;
			visit_days[nv++] = lmp + wlo[i] * 7 + (int)jl_rng_below(&c->g, (uint32_t)((whi[i] - wlo[i]) * 7 + 1));
		}
		for (int i = 0; i < nv && !r->rc; i++) {
			int d = visit_days[i];
			if (d < s || d > e || d >= birth)
				continue;
			int32_t org = i == 0 || i < 3 ? p->hc : (jl_rng_bern(&c->g, 0.5) ? mch : hosp);
			char enc[64];
			encounter(c, enc, sizeof enc, "AMB", i == 0 ? "prenatal-first" : "prenatal", i == 0 ? "早孕建册及第1次产前检查" : "产前检查",
				  org, org_doctor(c, org, PR_DOCTOR), d, 0, SYS_ICD10, "Z34.9", "正常妊娠监督");
			int ga = (d - lmp) / 7;
			obs_qty(c, enc, "exam", "Exam", "11884-4", "Gestational age Estimated", d, NULL, ga, 0, "wk");
		}
		if (birth >= s && birth <= e) {
			char enc[64];
			const jl_prac_t *dr = org_doctor(c, hosp, PR_DOCTOR);
			encounter(c, enc, sizeof enc, "IMP", "delivery", "住院分娩", hosp, dr, birth - 1, 3, SYS_ICD10, "O80.0",
				  "单胎顺产");
			char id[64];
			rid(c, "proc", id, sizeof id);
			jl_jw_t *w = jl_run_begin(r, "Procedure", id);
			fw_key_str(w, "status", "completed");
			fw_cc(w, "code", SYS_SCT, "236973005", "Delivery procedure");
			subject(c, "subject");
			fw_ref(w, "encounter", "Encounter", enc);
			fw_key_dt(w, "performedDateTime", birth, 60 * (int)jl_rng_below(&c->g, 24));
			jl_jw_keyc(w, "performer");
			jl_jw_arr_begin(w);
			jl_jw_obj_begin(w);
			fw_ref(w, "actor", "Practitioner", dr->id);
			jl_jw_obj_end(w);
			jl_jw_arr_end(w);
			jl_jw_obj_end(w);
			jl_run_emit(r, JL_GEN_PROCEDURE);
		}
		int pp = birth + 2 + 3 + (int)jl_rng_below(&c->g, 5);
		if (pp >= s && pp <= e && jl_rng_bern(&c->g, pa->postpartum)) {
			char enc[64];
			encounter(c, enc, sizeof enc, "HH", "postpartum-visit", "产后访视", p->hc, org_doctor(c, p->hc, PR_DOCTOR), pp,
				  0, NULL, NULL, NULL);
		}
		int d42 = birth + 42 + (int)jl_rng_below(&c->g, 7);
		if (d42 >= s && d42 <= e && jl_rng_bern(&c->g, 0.85)) {
			char enc[64];
			encounter(c, enc, sizeof enc, "AMB", "postpartum-42d", "产后42天健康检查", p->hc,
				  org_doctor(c, p->hc, PR_DOCTOR), d42, 0, NULL, NULL, NULL);
		}
	}
}

/* --- hospital care ---------------------------------------------------------------- */

typedef struct dx {
	const char *icd, *name, *atc, *drug, *dose;
	double w;
	int min_age, max_age;
	int lab; /* 1 WBC, 2 creatinine+Hb, 0 none */
} dx_t;

static const dx_t outpatient_dx[] = {
	{"J06.9", "急性上呼吸道感染", "R05CB01", "乙酰半胱氨酸", "0.2g tid", 30, 0, 120, 1},
	{"J02.9", "急性咽炎", "J01CA04", "阿莫西林", "0.5g tid", 12, 0, 120, 1},
	{"J20.9", "急性支气管炎", "J01FA10", "阿奇霉素", "0.5g qd", 10, 0, 120, 1},
	{"K29.7", "胃炎", "A02BC01", "奥美拉唑", "20mg qd", 12, 15, 120, 0},
	{"K52.9", "非感染性胃肠炎", "A07BA01", "蒙脱石散", "3g tid", 6, 0, 120, 0},
	{"M54.5", "下背痛", "M01AE01", "布洛芬", "0.3g bid", 8, 20, 120, 0},
	{"M17.9", "膝关节病", "M01AH01", "塞来昔布", "0.2g qd", 6, 50, 120, 0},
	{"L30.9", "皮炎", "D07AC01", "倍他米松乳膏", "外用 bid", 5, 0, 120, 0},
	{"H10.9", "结膜炎", "S01AE01", "氧氟沙星滴眼液", "滴眼 qid", 3, 0, 120, 0},
	{"N39.0", "泌尿道感染", "J01MA02", "环丙沙星", "0.25g bid", 4, 15, 120, 1},
	{"R51", "头痛", "N02BE01", "对乙酰氨基酚", "0.5g prn", 4, 10, 120, 0},
	{"J45.9", "哮喘", "R03AC02", "沙丁胺醇气雾剂", "吸入 prn", 2, 5, 120, 0},
	{"E78.5", "高脂血症", "C10AA05", "阿托伐他汀", "20mg qn", 5, 40, 120, 2},
};

static const dx_t inpatient_dx[] = {
	{"J18.9", "肺炎", "J01DD04", "头孢曲松", "2g qd ivgtt", 20, 0, 120, 1},
	{"I63.9", "脑梗死", "B01AC06", "阿司匹林", "100mg qd", 12, 45, 120, 2},
	{"I25.1", "动脉硬化性心脏病", "C07AB02", "美托洛尔", "47.5mg qd", 10, 45, 120, 2},
	{"J44.1", "慢性阻塞性肺病伴急性加重", "R03BB04", "噻托溴铵", "18μg qd", 9, 50, 120, 1},
	{"K80.2", "胆囊结石", "A05AA02", "熊去氧胆酸", "0.25g bid", 7, 25, 120, 0},
	{"K35.8", "急性阑尾炎", "J01DC02", "头孢呋辛", "1.5g bid ivgtt", 5, 5, 80, 1},
	{"S72.0", "股骨颈骨折", "N02AX02", "曲马多", "50mg prn", 4, 60, 120, 2},
	{"I50.9", "心力衰竭", "C03CA01", "呋塞米", "20mg qd", 6, 55, 120, 2},
	{"C34.9", "支气管或肺恶性肿瘤", "L01BA04", "培美曲塞", "按方案", 3, 45, 120, 2},
	{"N20.0", "肾结石", "G04CA02", "坦索罗辛", "0.2mg qn", 4, 20, 100, 2},
	{"A09", "感染性腹泻", "J01MA02", "环丙沙星", "0.25g bid", 5, 0, 120, 1},
	{"O80.0", "单胎顺产", "H01BB02", "缩宫素", "10U im", 0, 18, 45, 0},
};

static const dx_t *pick_dx(jl_rng_t *g, const dx_t *t, size_t n, int age)
{
	double tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += age >= t[i].min_age && age <= t[i].max_age ? t[i].w : 0;
	double x = jl_rng_u(g) * tot;
	for (size_t i = 0; i < n; i++) {
		double w = age >= t[i].min_age && age <= t[i].max_age ? t[i].w : 0;
		if (x < w)
			return &t[i];
		x -= w;
	}
	return &t[0];
}

static void lab_tests(ectx_t *c, const char *enc, int day, int kind)
{
	if (kind == 1)
		obs_qty(c, enc, "laboratory", "Laboratory", "6690-2", "Leukocytes [#/volume] in Blood by Automated count", day,
			NULL, 6.5 + fabs(jl_rng_normal(&c->g)) * 3.5, 1, "10*9/L");
	if (kind == 2) {
		obs_qty(c, enc, "laboratory", "Laboratory", "718-7", "Hemoglobin [Mass/volume] in Blood", day, NULL,
			(c->p->sex == 1 ? 142 : 126) + jl_rng_normal(&c->g) * 12, 0, "g/L");
		obs_qty(c, enc, "laboratory", "Laboratory", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", day, NULL,
			(c->p->sex == 1 ? 82 : 64) + fabs(jl_rng_normal(&c->g)) * 18, 0, "umol/L");
	}
}

static void hospital_care(ectx_t *c, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	const jl_gen_params_t *pa = r->p;
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	for (int y = y0; y <= y1 && !r->rc; y++) {
		int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
		if (lo < s)
			lo = s;
		if (hi > e)
			hi = e;
		if (hi < lo)
			continue;
		double frac = (hi - lo + 1) / 365.0;
		int age = jl_person_age(p, lo);
		double fo = age < 5 ? 1.5 : age < 20 ? 0.6 : age < 60 ? 1.0 : 1.6;
		double fi = age < 5 ? 0.8 : age < 20 ? 0.3 : age < 45 ? 0.6 : age < 65 ? 1.0 : 2.2;
		int no = jl_rng_poisson(&c->g, pa->outpatient_rate * fo * frac);
		for (int i = 0; i < no && !r->rc; i++) {
			int d = rand_day(&c->g, lo, hi);
			double x = jl_rng_u(&c->g);
			int32_t org = x < 0.4 ? p->hc
				      : x < 0.6 && r->vill_clinic[p->village] >= 0 ? r->vill_clinic[p->village]
				      : x < 0.85 ? r->county_org[p->county][0]
				      : x < 0.95 ? jl_region_pick(r, p->county, OK_CLINIC, jl_rng_below(&c->g, 100))
						 : r->pref[0];
			if (org < 0)
				org = p->hc;
			const jl_prac_t *pr = org_doctor(c, org, PR_DOCTOR);
			const dx_t *dx = pick_dx(&c->g, outpatient_dx, sizeof outpatient_dx / sizeof *outpatient_dx, age);
			char enc[64], cond[64];
			encounter(c, enc, sizeof enc, "AMB", "outpatient", "门诊", org, pr, d, 0, NULL, NULL, NULL);
			bool chronic = dx->icd[0] == 'E' || dx->icd[0] == 'M' || (dx->icd[0] == 'J' && dx->icd[1] == '4');
			condition(c, cond, sizeof cond, "encounter-diagnosis", enc, dx->icd, dx->name, d - (int)jl_rng_below(&c->g, 4),
				  chronic ? 0 : d + 7 + (int)jl_rng_below(&c->g, 14), d, pr, false);
			medication(c, enc, dx->atc, dx->drug, dx->dose, d, pr);
			if (dx->lab && jl_rng_bern(&c->g, 0.35))
				lab_tests(c, enc, d, dx->lab);
		}
		int ni = jl_rng_poisson(&c->g, pa->inpatient_rate * fi * frac);
		for (int i = 0; i < ni && !r->rc; i++) {
			int d = rand_day(&c->g, lo, hi);
			double x = jl_rng_u(&c->g);
			int32_t org = x < 0.6 ? r->county_org[p->county][0] : x < 0.85 ? r->pref[(int)jl_rng_below(&c->g, 1)] : p->hc;
			const jl_prac_t *pr = org_doctor(c, org, PR_DOCTOR);
			const dx_t *dx = pick_dx(&c->g, inpatient_dx, sizeof inpatient_dx / sizeof *inpatient_dx - 1, age);
			int los = 3 + (int)jl_rng_below(&c->g, 10);
			char enc[64], cond[64];
			encounter(c, enc, sizeof enc, "IMP", "inpatient", "住院", org, pr, d, los, SYS_ICD10, dx->icd, dx->name);
			condition(c, cond, sizeof cond, "encounter-diagnosis", enc, dx->icd, dx->name, d - (int)jl_rng_below(&c->g, 5),
				  dx->icd[0] == 'C' || dx->icd[0] == 'I' ? 0 : d + los, d, pr, false);
			medication(c, enc, dx->atc, dx->drug, dx->dose, d, pr);
			lab_tests(c, enc, d, dx->lab ? dx->lab : 2);
		}
	}
}

/* --- infectious disease --------------------------------------------------------- */

static double young_share(const jl_gen_params_t *pa, int max_age)
{
	double s = 0;
	for (int i = 0; i < JL_GEN_AGE_BANDS; i++) {
		int lo = i * 5, hi = lo + 5;
		if (hi <= max_age)
			s += pa->age_share[i];
		else if (lo < max_age)
			s += pa->age_share[i] * (max_age - lo) / 5.0;
	}
	return s > 0.001 ? s : 0.001;
}

/* Day of onset in year y with the disease's seasonality (rejection sampling on 1 + a·cos). */
static int seasonal_day(jl_rng_t *g, const jl_gen_notifiable_t *n, int y)
{
	int lo = jl_day(y, 1, 1), hi = jl_day(y, 12, 31);
	int peak = n->peak_month ? jl_day(y, n->peak_month, 15) : lo;
	for (int t = 0; t < 64; t++) {
		int d = rand_day(g, lo, hi);
		double f = (1 + n->season * cos(6.283185307179586 * (d - peak) / 365.0)) / (1 + n->season);
		if (jl_rng_u(g) < f)
			return d;
	}
	return rand_day(g, lo, hi);
}

static void case_report(ectx_t *c, const char *icd, const char *name, int onset, bool chronic, char *cond, size_t ncond)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	double x = jl_rng_u(&c->g);
	int32_t org = x < 0.45 ? p->hc : x < 0.9 ? r->county_org[p->county][0] : r->pref[0];
	int dx = onset + (int)jl_rng_below(&c->g, 3);
	const jl_prac_t *pr = org_doctor(c, org, PR_DOCTOR);
	char enc[64];
	encounter(c, enc, sizeof enc, "AMB", "outpatient", "门诊", org, pr, dx, 0, SYS_ICD10, icd, name);
	condition(c, cond, ncond, "encounter-diagnosis", enc, icd, name, onset, chronic ? 0 : dx + 7 + (int)jl_rng_below(&c->g, 14),
		  dx + (jl_rng_bern(&c->g, 0.9) ? 0 : 1), pr, true);
}

static void infections(ectx_t *c, int s, int e)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	const jl_gen_params_t *pa = r->p;
	int y0 = jl_ymd(r->day0).y, y1 = jl_ymd(r->day1).y;
	for (int y = y0; y <= y1 && !r->rc; y++) {
		int age = jl_person_age(p, jl_day(y, 7, 1));
		if (age < 0)
			continue;
		for (int k = 0; k < pa->nnotif && !r->rc; k++) {
			const jl_gen_notifiable_t *n = &pa->notif[k];
			double rate = n->per100k / 1e5;
			if (n->max_age)
				rate = age < n->max_age ? rate * 0.9 / young_share(pa, n->max_age) : rate * 0.1;
			if (!jl_rng_bern(&c->g, rate))
				continue;
			int d = seasonal_day(&c->g, n, y);
			if (d < s || d > e)
				continue;
			char cond[64];
			case_report(c, n->icd, n->name, d, n->icd[0] == 'B' && n->icd[1] == '1' && n->icd[2] == '6', cond, sizeof cond);
		}
		/* Tuberculosis: diagnosis at the county hospital, management by the township centre. */
		double ft = age < 15 ? 0.15 : age < 60 ? (p->sex == 1 ? 1.3 : 0.6) : 2.2;
		if (jl_rng_bern(&c->g, pa->tb_per100k / 1e5 * ft)) {
			int d = rand_day(&c->g, jl_day(y, 1, 1), jl_day(y, 12, 31));
			if (d < s || d > e)
				continue;
			int32_t hosp = r->county_org[p->county][0];
			const jl_prac_t *pr = org_doctor(c, hosp, PR_DOCTOR);
			bool conf = jl_rng_bern(&c->g, 0.55);
			const char *icd = conf ? "A15.0" : "A16.0", *nm = conf ? "肺结核(细菌学确诊)" : "肺结核(细菌学阴性)";
			char enc[64], cond[64];
			encounter(c, enc, sizeof enc, "AMB", "outpatient", "门诊", hosp, pr, d, 0, SYS_ICD10, icd, nm);
			int end = d + 182;
			condition(c, cond, sizeof cond, "encounter-diagnosis", enc, icd, nm, d - 20, end <= r->day1 ? end : 0, d, pr, true);
			medication(c, enc, "J04AM06", "异烟肼/利福平/吡嗪酰胺/乙胺丁醇", "2HRZE/4HR", d, pr);
			episode(c, "tb-management", "肺结核患者健康管理", p->hc, d + 3, end <= r->day1 ? end : 0,
				org_doctor(c, p->hc, PR_PUBLIC_HEALTH), false, cond);
			for (int m = 1; m <= 6 && !r->rc; m++) {
				int fd = d + 3 + 30 * m - 30 + (m == 1 ? 7 : 0);
				if (fd > e)
					break;
				char fe[64];
				encounter(c, fe, sizeof fe, "HH", "tb-followup", "肺结核患者随访(督导服药)", p->hc,
					  org_doctor(c, p->hc, PR_PUBLIC_HEALTH), fd, 0, SYS_ICD10, icd, nm);
			}
		}
	}
	/* Injected outbreaks in the township the person lives in at the time. */
	for (int k = 0; k < r->noutbreaks && !r->rc; k++) {
		jl_outbreak_t *o = &r->outbreaks[k];
		const jl_gen_notifiable_t *n = &pa->notif[o->notif];
		if (r->geo.villages[jl_person_village(p, o->start)].town != o->town ||
		    r->geo.villages[jl_person_village(p, o->end)].town != o->town || o->end < s || o->start > e)
			continue;
		int age = jl_person_age(p, o->start);
		if (age < 0 || (n->max_age && age >= n->max_age) || !jl_rng_bern(&c->g, o->attack))
			continue;
		/* Triangular onset between start and end with its mode at the peak. */
		double u = jl_rng_u(&c->g), a = o->start, b = o->end, m = o->peak;
		double fc = (m - a) / (b - a);
		double x = u < fc ? a + sqrt(u * (b - a) * (m - a)) : b - sqrt((1 - u) * (b - a) * (b - m));
		int d = (int)x;
		if (d < s || d > e)
			continue;
		char cond[64];
		case_report(c, n->icd, n->name, d, false, cond, sizeof cond);
		o->cases++;
		r->st->outbreak_cases++;
		jl_buf_clear(&r->line);
		jl_buf_printf(&r->line, "%s\tob-%d\t%s", cond, k + 1, p->id);
		jl_run_truth(r, JL_GEN_TRUTH_OUTBREAK_CASES);
	}
}

void jl_health_outbreaks_init(jl_run_t *r)
{
	const jl_gen_params_t *pa = r->p;
	int years = jl_ymd(r->day1).y - jl_ymd(r->day0).y + 1;
	int n = (int)(pa->outbreaks_per_million_year * (double)r->cfg->residents / 1e6 * years + 0.5);
	if (n < 3)
		n = 3;
	double cum[32], t = 0;
	for (int i = 0; i < pa->nnotif; i++) {
		t += pa->notif[i].outbreak ? pa->notif[i].per100k : 0;
		cum[i] = t;
	}
	if (t <= 0 || r->day1 - r->day0 < 120)
		return;
	r->outbreaks = jl_arena_calloc(r->a, (size_t)n, sizeof *r->outbreaks);
	if (!r->outbreaks) {
		r->rc = JL_ENOMEM;
		return;
	}
	double total_w = r->county_cum[r->geo.ncounties - 1];
	for (int k = 0; k < n; k++) {
		jl_rng_t g = jl_rng_key(r->seed, JL_RNG_OUTBREAK, (uint64_t)k);
		jl_outbreak_t *o = &r->outbreaks[r->noutbreaks];
		o->notif = (int)jl_rng_pick_cum(&g, cum, (uint32_t)pa->nnotif);
		uint32_t c = jl_rng_pick_cum(&g, r->county_cum, r->geo.ncounties);
		const jl_geo_county_t *cy = &r->geo.counties[c];
		if (!cy->ntown)
			continue;
		o->town = cy->town0 + jl_rng_pick_cum(&g, r->town_cum + cy->town0, cy->ntown);
		int dur = 10 + (int)jl_rng_below(&g, 19);
		o->start = r->day0 + 30 + (int)jl_rng_below(&g, (uint32_t)(r->day1 - r->day0 - 60 - dur));
		o->end = o->start + dur;
		o->peak = o->start + dur / 3 + (int)jl_rng_below(&g, (uint32_t)(dur / 3 + 1));
		/* Expected residents of the township, and of the age group the disease strikes. */
		double cw = cy->weight / total_w;
		double tw = r->town_cum[o->town] - (o->town > cy->town0 ? r->town_cum[o->town - 1] : 0);
		double pop = (double)r->cfg->residents * cw * tw / r->town_cum[cy->town0 + cy->ntown - 1];
		const jl_gen_notifiable_t *nf = &pa->notif[o->notif];
		if (nf->max_age)
			pop *= young_share(pa, nf->max_age);
		double size = 8 + jl_rng_below(&g, 33);
		o->attack = pop > 1 ? size / pop : 0.5;
		if (o->attack > 0.5)
			o->attack = 0.5;
		r->noutbreaks++;
	}
	r->st->outbreaks = r->noutbreaks;
}

void jl_health_outbreaks_truth(jl_run_t *r)
{
	jl_buf_clear(&r->line);
	jl_buf_puts(&r->line, "outbreak\ticd10\tdisease\tcounty\ttownship\ttownship_name\tstart\tpeak\tend\tcases");
	jl_run_truth(r, JL_GEN_TRUTH_OUTBREAKS);
	for (int k = 0; k < r->noutbreaks; k++) {
		const jl_outbreak_t *o = &r->outbreaks[k];
		const jl_geo_town_t *tw = &r->geo.towns[o->town];
		char a[11], b[11], m[11];
		jl_fmt_date(o->start, a);
		jl_fmt_date(o->peak, m);
		jl_fmt_date(o->end, b);
		jl_buf_clear(&r->line);
		jl_buf_printf(&r->line, "ob-%d\t%s\t%s\t%06u\t%09llu\t%s\t%s\t%s\t%s\t%lld", k + 1, r->p->notif[o->notif].icd,
			      r->p->notif[o->notif].name, r->geo.counties[tw->county].code, (unsigned long long)tw->code,
			      tw->name, a, m, b, (long long)o->cases);
		jl_run_truth(r, JL_GEN_TRUTH_OUTBREAKS);
	}
}

/* --- deaths ------------------------------------------------------------------------- */

static const code_t death_old[] = {
	{"I63.9", "脑梗死", 16}, {"I61.9", "脑出血", 8}, {"I21.9", "急性心肌梗死", 12}, {"I25.9", "慢性缺血性心脏病", 8},
	{"J44.9", "慢性阻塞性肺病", 12}, {"C34.9", "肺恶性肿瘤", 7}, {"C22.0", "肝细胞癌", 4}, {"C16.9", "胃恶性肿瘤", 4},
	{"J18.9", "肺炎", 5}, {"E14.9", "糖尿病", 3}, {"N18.9", "慢性肾脏病", 2}, {"W19", "跌倒", 3}, {"R54", "衰老", 4},
};
static const code_t death_mid[] = {
	{"C34.9", "肺恶性肿瘤", 12}, {"C22.0", "肝细胞癌", 10}, {"C16.9", "胃恶性肿瘤", 6}, {"I21.9", "急性心肌梗死", 10},
	{"I61.9", "脑出血", 10}, {"I63.9", "脑梗死", 6}, {"V89.2", "机动车交通事故", 8}, {"K74.6", "肝硬化", 5},
	{"J44.9", "慢性阻塞性肺病", 3}, {"E14.9", "糖尿病", 2}, {"W19", "跌倒", 2},
};
static const code_t death_young[] = {
	{"V89.2", "机动车交通事故", 30}, {"W69", "溺水", 12}, {"C91.0", "急性淋巴细胞白血病", 6},
	{"Q24.9", "先天性心脏病", 8}, {"J18.9", "肺炎", 8}, {"P07.3", "早产", 10}, {"W19", "跌倒", 6},
};

static void death(ectx_t *c)
{
	jl_run_t *r = c->r;
	jl_person_t *p = c->p;
	int age = jl_person_age(p, p->death);
	const code_t *cd;
	if (age >= 60) {
		cd = pick_code(&c->g, death_old, sizeof death_old / sizeof *death_old);
		if (p->t2dm_onset && jl_rng_bern(&c->g, 0.15))
			cd = &death_old[9];
	} else if (age >= 30)
		cd = pick_code(&c->g, death_mid, sizeof death_mid / sizeof *death_mid);
	else
		cd = pick_code(&c->g, death_young, sizeof death_young / sizeof *death_young);
	obs_begin(c, NULL, "survey", "Survey", SYS_LOINC, "69453-9", "Cause of death [US Standard Certificate of Death]",
		  p->death, org_doctor(c, r->county_org[p->county][0], PR_DOCTOR));
	fw_cc(&r->w, "valueCodeableConcept", SYS_ICD10, cd->code, cd->display);
	jl_jw_obj_end(&r->w);
	jl_run_emit(r, JL_GEN_OBSERVATION);
	r->st->deaths++;
}

/* --- the whole person ---------------------------------------------------------------- */

void jl_health_emit(jl_run_t *r, jl_person_t *p)
{
	ectx_t c = {.r = r, .p = p, .g = jl_rng_key(r->seed, JL_RNG_HEALTH, ((uint64_t)p->idx * 8 + (uint64_t)p->birthno) ^ 0x5bd1e995ULL)};
	int s, e;
	jl_person_span(r, p, &s, &e);
	if (s > e)
		return;
	int end_any = (p->death && p->death <= r->day1) ? p->death : (p->move_out ? p->move_out : 0);
	if (p->contract && p->doctor >= 0)
		episode(&c, "family-doctor-contract", "家庭医生签约服务", p->hc, p->contract, end_any,
			&r->pracs[p->doctor], true, NULL);
	char cond[64];
	if (p->htn_reg && p->htn_reg <= e) {
		condition(&c, cond, sizeof cond, "problem-list-item", NULL, "I10", "特发性(原发性)高血压", p->htn_onset, 0,
			  p->htn_reg, p->doctor >= 0 ? &r->pracs[p->doctor] : org_doctor(&c, p->hc, PR_DOCTOR), false);
		episode(&c, "htn-management", "高血压患者健康管理", p->hc, p->htn_reg, end_any, NULL, true, cond);
		chronic_followups(&c, CH_HTN, p->htn_reg, s, e);
	}
	if (p->t2dm_reg && p->t2dm_reg <= e) {
		condition(&c, cond, sizeof cond, "problem-list-item", NULL, "E11.9", "2型糖尿病不伴有并发症", p->t2dm_onset, 0,
			  p->t2dm_reg, p->doctor >= 0 ? &r->pracs[p->doctor] : org_doctor(&c, p->hc, PR_DOCTOR), false);
		episode(&c, "t2dm-management", "2型糖尿病患者健康管理", p->hc, p->t2dm_reg, end_any, NULL, true, cond);
		chronic_followups(&c, CH_T2DM, p->t2dm_reg, s, e);
	}
	if (p->smi_reg) {
		const code_t *sc = &smi_codes[0];
		jl_rng_t g2 = jl_rng_key(r->seed, JL_RNG_HEALTH, (uint64_t)p->smi_code + 77);
		sc = pick_code(&g2, smi_codes, sizeof smi_codes / sizeof *smi_codes);
		condition(&c, cond, sizeof cond, "problem-list-item", NULL, sc->code, sc->display, p->smi_reg - 200, 0, p->smi_reg,
			  org_doctor(&c, r->county_org[p->county][0], PR_DOCTOR), false);
		episode(&c, "smi-management", "严重精神障碍患者管理", p->hc, p->smi_reg, end_any, NULL, true, cond);
		smi_followups(&c, cond, s, e);
	}
	elderly_checks(&c, s, e);
	if (p->sex == 2)
		pregnancies(&c, s, e);
	if (p->birth > r->day0 - 7 * 366) {
		child_checks(&c, s, e);
		immunizations(&c, s, e);
	}
	hospital_care(&c, s, e);
	infections(&c, s, e);
	if (p->death && p->death <= e)
		death(&c);
}
