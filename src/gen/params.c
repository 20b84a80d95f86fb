/*
 * params — the parameter file parser. Each line is split into
 * whitespace-separated tokens; the first names the fact.
 */
#include "gen/params.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

__asm__(".section .rodata\n"
	".globl jl_gen_params_blob\n"
	"jl_gen_params_blob:\n"
	".incbin \"data/gen/params.conf\"\n"
	".globl jl_gen_params_blob_end\n"
	"jl_gen_params_blob_end:\n"
	".byte 0\n"
	".previous\n");
extern const char jl_gen_params_blob[];
extern const char jl_gen_params_blob_end[];
/*
 * make does not see through .incbin: after editing data/gen/params.conf,
 * touch this file (or pass the file with --params, which needs no rebuild).
 */

const char *jl_gen_params_default(size_t *n)
{
	*n = (size_t)(jl_gen_params_blob_end - jl_gen_params_blob);
	return jl_gen_params_blob;
}

#define MAXTOK 64

typedef struct scalar {
	const char *key;
	size_t off;
	char kind; /* 'd' double, 'r' rate, 'c' curve */
} scalar_t;

#define D(k, f) {k, offsetof(jl_gen_params_t, f), 'd'}
#define R(k, f) {k, offsetof(jl_gen_params_t, f), 'r'}
#define C(k, f) {k, offsetof(jl_gen_params_t, f), 'c'}
static const scalar_t scalars[] = {
	D("household_mean", household_mean), D("migrant_in", migrant_in), D("migrant_out", migrant_out),
	D("move_rate", move_rate), D("move_within", move_within), D("real_population", real_population),
	C("htn_prev", htn_prev), C("t2dm_prev", t2dm_prev), D("htn_registered", htn_registered),
	D("t2dm_registered", t2dm_registered), D("smi_prev", smi_prev), D("tb_per100k", tb_per100k),
	R("followup", followup), R("bp_control", bp_control), R("fpg_control", fpg_control),
	R("smi_followup", smi_followup), R("elderly_check", elderly_check), R("vaccine", vaccine),
	R("child_check", child_check), D("phone_followup", phone_followup),
	D("contract_general", contract_general), D("contract_key", contract_key),
	C("fertility", fertility), D("prenatal_early", prenatal_early), D("prenatal_5", prenatal_5),
	D("postpartum", postpartum), D("newborn_visit", newborn_visit),
	D("gompertz_a", gompertz_a), D("gompertz_b", gompertz_b), D("infant_mortality", infant_mortality),
	D("child_mortality", child_mortality), D("outpatient_rate", outpatient_rate),
	D("inpatient_rate", inpatient_rate), D("outbreaks_per_million_year", outbreaks_per_million_year),
	D("dup_mean", dup_mean), D("err_homophone", e_homophone), D("err_shape", e_shape), D("err_trad", e_trad),
	D("err_pinyin", e_pinyin), D("err_id_missing", e_id_missing), D("err_id_typo", e_id_typo),
	D("err_phone_changed", e_phone_changed), D("err_phone_missing", e_phone_missing), D("err_lunar", e_lunar),
	D("err_daymonth", e_daymonth), D("err_sex_missing", e_sex_missing), D("err_swap", e_swap),
};

static bool num(jl_str_t t, double *out)
{
	char buf[64];
	if (!t.n || t.n >= sizeof buf)
		return false;
	memcpy(buf, t.p, t.n);
	buf[t.n] = 0;
	char *end;
	*out = strtod(buf, &end);
	return *end == 0;
}

static bool uint_(jl_str_t t, uint32_t *out)
{
	int64_t v;
	if (!jl_str_to_i64(t, &v) || v < 0 || v > 999999999)
		return false;
	*out = (uint32_t)v;
	return true;
}

double jl_gen_curve_at(const jl_gen_curve_t *c, double age)
{
	if (!c->n)
		return 0;
	if (age <= c->age[0])
		return c->v[0];
	for (int i = 1; i < c->n; i++)
		if (age < c->age[i]) {
			double f = (age - c->age[i - 1]) / (c->age[i] - c->age[i - 1]);
			return c->v[i - 1] + f * (c->v[i] - c->v[i - 1]);
		}
	return c->v[c->n - 1];
}

static int count_lines(const char *t, size_t n)
{
	int k = 1;
	for (size_t i = 0; i < n; i++)
		k += t[i] == '\n';
	return k;
}

jl_rc jl_gen_params_parse(jl_arena_t *a, const char *text, size_t n, jl_gen_params_t *p, jl_diag_t *d)
{
	memset(p, 0, sizeof *p);
	if (!text)
		text = jl_gen_params_default(&n);
	int cap = count_lines(text, n);
	p->surnames = jl_arena_calloc(a, (size_t)cap, sizeof *p->surnames);
	p->given = jl_arena_calloc(a, (size_t)cap, sizeof *p->given);
	p->homo = jl_arena_calloc(a, (size_t)cap, sizeof *p->homo);
	p->shape = jl_arena_calloc(a, (size_t)cap, sizeof *p->shape);
	p->trad = jl_arena_calloc(a, (size_t)cap, sizeof *p->trad);
	if (!p->surnames || !p->given || !p->homo || !p->shape || !p->trad)
		return JL_ENOMEM;
	int lineno = 0, nage = 0;
	const char *s = text, *end = text + n;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		lineno++;
		jl_str_t tok[MAXTOK];
		int nt = 0;
		const char *q = s;
		while (q < nl && nt < MAXTOK) {
			while (q < nl && (*q == ' ' || *q == '\t' || *q == '\r'))
				q++;
			if (q >= nl || *q == '#')
				break;
			const char *b = q;
			while (q < nl && *q != ' ' && *q != '\t' && *q != '\r')
				q++;
			tok[nt++] = jl_str(b, (size_t)(q - b));
		}
		s = nl + 1;
		if (!nt)
			continue;
		jl_str_t k = tok[0];
		bool ok = true;
		bool known = false;
		for (size_t i = 0; i < sizeof scalars / sizeof *scalars && !known; i++) {
			if (!jl_str_eqc(k, scalars[i].key))
				continue;
			known = true;
			char *f = (char *)p + scalars[i].off;
			if (scalars[i].kind == 'd')
				ok = nt == 2 && num(tok[1], (double *)f);
			else if (scalars[i].kind == 'r') {
				jl_gen_rate_t *r = (jl_gen_rate_t *)f;
				r->spread = 0;
				ok = (nt == 2 || nt == 3) && num(tok[1], &r->mean) && (nt == 2 || num(tok[2], &r->spread));
			} else {
				jl_gen_curve_t *c = (jl_gen_curve_t *)f;
				ok = nt >= 3 && nt % 2 == 1 && (nt - 1) / 2 <= JL_GEN_CURVE;
				c->n = 0;
				for (int j = 1; ok && j < nt; j += 2, c->n++)
					ok = num(tok[j], &c->age[c->n]) && num(tok[j + 1], &c->v[c->n]) &&
					     (c->n == 0 || c->age[c->n] > c->age[c->n - 1]);
			}
		}
		if (known) {
		} else if (jl_str_eqc(k, "age")) {
			double lo, share, male;
			ok = nt == 4 && nage < JL_GEN_AGE_BANDS && num(tok[1], &lo) && lo == nage * 5 &&
			     num(tok[2], &share) && num(tok[3], &male) && male > 0 && male < 1;
			if (ok) {
				p->age_share[nage] = share;
				p->age_male[nage++] = male;
			}
		} else if (jl_str_eqc(k, "county")) {
			ok = nt >= 3 && p->ncounty_pop < 64 && uint_(tok[1], &p->county_code[p->ncounty_pop]) &&
			     num(tok[2], &p->county_pop[p->ncounty_pop]);
			if (ok)
				p->ncounty_pop++;
		} else if (jl_str_eqc(k, "ethnic")) {
			jl_gen_mix_t *m = &p->mix[p->nmix];
			ok = p->nmix < 64 && nt >= 4 && nt % 2 == 0 && (nt - 2) / 2 <= JL_GEN_MAX_ETH;
			if (ok)
				ok = jl_str_eqc(tok[1], "*") ? (m->county = 0, true) : uint_(tok[1], &m->county);
			m->n = 0;
			for (int j = 2; ok && j < nt; j += 2, m->n++) {
				uint32_t c = 0;
				ok = uint_(tok[j], &c) && num(tok[j + 1], &m->share[m->n]);
				m->code[m->n] = (int)c;
			}
			if (ok)
				p->nmix++;
		} else if (jl_str_eqc(k, "ethnic_name")) {
			uint32_t c;
			ok = nt == 3 && p->neth_names < 64 && uint_(tok[1], &c);
			if (ok) {
				p->eth_code[p->neth_names] = (int)c;
				p->eth_name[p->neth_names++] = jl_arena_strndup(a, tok[2].p, tok[2].n);
			}
		} else if (jl_str_eqc(k, "surname")) {
			/* surname <ethnic code|*> <characters> <pinyin> <weight> */
			jl_gen_namechar_t *c = &p->surnames[p->nsurnames];
			uint32_t g = 0;
			ok = nt == 5 && (jl_str_eqc(tok[1], "*") || uint_(tok[1], &g)) && num(tok[4], &c->w);
			if (ok) {
				c->group = (int)g;
				c->ch = jl_arena_strndup(a, tok[2].p, tok[2].n);
				c->py = jl_arena_strndup(a, tok[3].p, tok[3].n);
				p->nsurnames++;
			}
		} else if (jl_str_eqc(k, "given")) {
			/* given <m|f|u> <eras bitmask> <character> <pinyin> <weight> */
			jl_gen_namechar_t *c = &p->given[p->ngiven];
			uint32_t eras;
			ok = nt == 6 && tok[1].n == 1 && strchr("mfu", tok[1].p[0]) && uint_(tok[2], &eras) &&
			     num(tok[5], &c->w);
			if (ok) {
				c->group = tok[1].p[0];
				c->eras = (int)eras;
				c->ch = jl_arena_strndup(a, tok[3].p, tok[3].n);
				c->py = jl_arena_strndup(a, tok[4].p, tok[4].n);
				p->ngiven++;
			}
		} else if (jl_str_eqc(k, "single_given")) {
			ok = nt == 5;
			for (int j = 0; ok && j < 4; j++)
				ok = num(tok[j + 1], &p->single_given[j]);
		} else if (jl_str_eqc(k, "homophone") || jl_str_eqc(k, "shape") || jl_str_eqc(k, "trad")) {
			jl_gen_charset_t *set = k.p[0] == 'h' ? &p->homo[p->nhomo++]
					       : k.p[0] == 's' ? &p->shape[p->nshape++]
							       : &p->trad[p->ntrad++];
			ok = nt >= 3 && nt <= 7 && (k.p[0] != 't' || nt == 3);
			for (int j = 1; ok && j < nt; j++)
				set->ch[set->n++] = jl_arena_strndup(a, tok[j].p, tok[j].n);
		} else if (jl_str_eqc(k, "notifiable")) {
			/* notifiable <icd> <name> <per100k> <peak month> <season amplitude> <max age> <outbreak 0|1> */
			jl_gen_notifiable_t *x = &p->notif[p->nnotif];
			double pm, ma, ob;
			ok = nt == 8 && p->nnotif < 32 && num(tok[3], &x->per100k) && num(tok[4], &pm) &&
			     num(tok[5], &x->season) && num(tok[6], &ma) && num(tok[7], &ob);
			if (ok) {
				x->icd = jl_arena_strndup(a, tok[1].p, tok[1].n);
				x->name = jl_arena_strndup(a, tok[2].p, tok[2].n);
				x->peak_month = (int)pm;
				x->max_age = (int)ma;
				x->outbreak = ob != 0;
				p->nnotif++;
			}
		} else {
			jl_diag_err(d, "invalid", NULL, "params line %d: unknown key '%.*s'", lineno, JL_STR_FMT(k));
			return JL_EINVAL;
		}
		if (!ok) {
			jl_diag_err(d, "invalid", NULL, "params line %d: bad value for '%.*s'", lineno, JL_STR_FMT(k));
			return JL_EINVAL;
		}
	}
	double tot = 0;
	for (int i = 0; i < nage; i++)
		tot += p->age_share[i];
	if (nage != JL_GEN_AGE_BANDS || tot <= 0 || !p->nsurnames || !p->ngiven || !p->nmix) {
		jl_diag_err(d, "invalid", NULL,
			    "params: need %d age bands, surnames, given-name characters and an ethnic mix",
			    JL_GEN_AGE_BANDS);
		return JL_EINVAL;
	}
	for (int i = 0; i < nage; i++)
		p->age_share[i] /= tot;
	return JL_OK;
}
