/*
 * region — builds the region of a run: sampling weights of counties,
 * townships and villages; the institutions (numbers per population, by the
 * kinds of identifiers.md and the health-statistics categories) with valid
 * 统一社会信用代码; their practitioners; family-doctor teams; the per-county
 * service rates drawn from the seed. Emits Organization, Location,
 * Practitioner, PractitionerRole and CareTeam resources.
 */
#include <stdio.h>
#include <string.h>

#include "gen/ids.h"
#include "gen/run.h"

typedef struct kind_info {
	const char *suffix;     /* name suffix */
	const char *type_code, *type_name; /* cn-org-type (WS 218 categories [to confirm]) */
	const char *hl7;        /* organization-type */
	const char *uscc2;      /* USCC positions 1-2 */
	double staff_real;      /* staff of a real one */
	int staff_min;
	const char *level_code, *level_name; /* hospital level */
} kind_info_t;

static const kind_info_t kinds[OK_NKINDS] = {
	[OK_PREF_HOSP] = {"人民医院", "A100", "综合医院", "prov", "12", 900, 6, "3A", "三级甲等"},
	[OK_PREF_TCM] = {"中医医院", "A210", "中医医院", "prov", "12", 350, 4, "3A", "三级甲等"},
	[OK_PREF_MCH] = {"妇幼保健院", "G100", "妇幼保健院", "prov", "12", 250, 3, "3B", "三级乙等"},
	[OK_PREF_CDC] = {"疾病预防控制中心", "J100", "疾病预防控制中心", "govt", "12", 120, 3, NULL, NULL},
	[OK_COUNTY_HOSP] = {"人民医院", "A100", "综合医院", "prov", "12", 350, 5, "2A", "二级甲等"},
	[OK_COUNTY_TCM] = {"中医医院", "A210", "中医医院", "prov", "12", 120, 3, "2A", "二级甲等"},
	[OK_COUNTY_MCH] = {"妇幼保健计划生育服务中心", "G100", "妇幼保健院", "prov", "12", 70, 2, "2B", "二级乙等"},
	[OK_COUNTY_CDC] = {"疾病预防控制中心", "J100", "疾病预防控制中心", "govt", "12", 45, 2, NULL, NULL},
	[OK_TOWN_HC] = {"卫生院", "C200", "乡镇卫生院", "prov", "12", 35, 3, "1A", "一级甲等"},
	[OK_CHC] = {"社区卫生服务中心", "B100", "社区卫生服务中心", "prov", "12", 30, 3, NULL, NULL},
	[OK_VILLAGE] = {"卫生室", "D500", "村卫生室", "prov", "12", 1.5, 1, NULL, NULL},
	[OK_PRIVATE_HOSP] = {"医院", "A100", "综合医院", "prov", "52", 60, 3, "1A", "一级甲等"},
	[OK_CLINIC] = {"诊所", "D200", "诊所", "prov", "92", 2, 1, NULL, NULL},
	[OK_PHARMACY] = {"大药房", "Z100", "零售药店", "prov", "91", 2, 1, NULL, NULL},
	[OK_CAREHOME] = {"养老院", "Z200", "养老机构", "other", "52", 8, 1, NULL, NULL},
};

static const char *const private_words[] = {"仁和", "博爱", "康宁", "济民", "华美", "同心", "惠民", "康泰", "安康", "德仁"};
static const char *const pharm_words[] = {"康源", "济生堂", "百草堂", "益民", "万家康", "福泰", "健之佳", "仁心"};

/* Strips a trailing administrative suffix for building institution names. */
static size_t stem(const char *s, const char *const *sufs)
{
	size_t n = strlen(s);
	for (; *sufs; sufs++) {
		size_t k = strlen(*sufs);
		if (n > k && !memcmp(s + n - k, *sufs, k))
			return n - k;
	}
	return n;
}

static double county_real_pop(const jl_run_t *r, uint32_t c)
{
	const jl_gen_params_t *p = r->p;
	for (int i = 0; i < p->ncounty_pop; i++)
		if (p->county_code[i] == r->geo.counties[c].code)
			return p->county_pop[i];
	return -1;
}

static jl_rc build_weights(jl_run_t *r)
{
	jl_geo_t *g = &r->geo;
	r->county_cum = jl_arena_alloc(r->a, g->ncounties * sizeof(double));
	r->town_cum = jl_arena_alloc(r->a, (g->ntowns ? g->ntowns : 1) * sizeof(double));
	r->vill_cum = jl_arena_alloc(r->a, g->nvillages * sizeof(double));
	if (!r->county_cum || !r->town_cum || !r->vill_cum)
		return JL_ENOMEM;
	/* Village weights: residents' committees (urban) are about twice as populous. */
	for (uint32_t t = 0; t < g->ntowns; t++) {
		double cum = 0;
		for (uint32_t v = g->towns[t].vill0; v < g->towns[t].vill0 + g->towns[t].nvill; v++) {
			cum += g->villages[v].urban ? 2.0 : 1.0;
			r->vill_cum[v] = cum;
		}
	}
	double matched_pop = 0, matched_w = 0;
	for (uint32_t c = 0; c < g->ncounties; c++) {
		double w = 0;
		for (uint32_t t = g->counties[c].town0; t < g->counties[c].town0 + g->counties[c].ntown; t++)
			w += g->towns[t].nvill ? r->vill_cum[g->towns[t].vill0 + g->towns[t].nvill - 1] : 0;
		g->counties[c].weight = w; /* village-based for now */
		double rp = county_real_pop(r, c);
		if (rp > 0 && w > 0) {
			matched_pop += rp;
			matched_w += w;
		}
	}
	double per_w = matched_w > 0 ? matched_pop / matched_w : 1000.0;
	double total = 0, cum = 0;
	for (uint32_t c = 0; c < g->ncounties; c++) {
		double rp = county_real_pop(r, c);
		double w = g->counties[c].weight;
		g->counties[c].weight = w > 0 ? (rp > 0 ? rp : w * per_w) : 0;
		total += g->counties[c].weight;
	}
	for (uint32_t c = 0; c < g->ncounties; c++) {
		cum += g->counties[c].weight;
		r->county_cum[c] = cum;
		/* Townships within a county: by their village weight. */
		double tc = 0;
		for (uint32_t t = g->counties[c].town0; t < g->counties[c].town0 + g->counties[c].ntown; t++) {
			tc += g->towns[t].nvill ? r->vill_cum[g->towns[t].vill0 + g->towns[t].nvill - 1] : 0;
			r->town_cum[t] = tc;
		}
	}
	double real = matched_pop > 0 && r->p->real_population > 0 ? r->p->real_population : total;
	r->scale = (double)r->cfg->residents / real;
	return JL_OK;
}

static jl_rc build_names(jl_run_t *r)
{
	const jl_gen_params_t *p = r->p;
	/* Surname tables per ethnic code: its own list when it has one, else the default (*) list. */
	double *def = jl_arena_alloc(r->a, (size_t)p->nsurnames * sizeof(double));
	if (!def)
		return JL_ENOMEM;
	double cum = 0;
	for (int i = 0; i < p->nsurnames; i++) {
		cum += p->surnames[i].group == 0 ? p->surnames[i].w : 0;
		def[i] = cum;
	}
	for (int e = 0; e < 100; e++) {
		int has = 0;
		for (int i = 0; i < p->nsurnames; i++)
			has |= p->surnames[i].group == e && e;
		if (!has) {
			r->sur_cum[e] = def;
			continue;
		}
		double *t = jl_arena_alloc(r->a, (size_t)p->nsurnames * sizeof(double));
		if (!t)
			return JL_ENOMEM;
		cum = 0;
		for (int i = 0; i < p->nsurnames; i++) {
			cum += p->surnames[i].group == e ? p->surnames[i].w : 0;
			t[i] = cum;
		}
		r->sur_cum[e] = t;
	}
	for (int s = 0; s < 2; s++)
		for (int era = 0; era < 4; era++) {
			double *t = jl_arena_alloc(r->a, (size_t)p->ngiven * sizeof(double));
			if (!t)
				return JL_ENOMEM;
			cum = 0;
			for (int i = 0; i < p->ngiven; i++) {
				const jl_gen_namechar_t *c = &p->given[i];
				bool sex_ok = c->group == 'u' || c->group == (s ? 'f' : 'm');
				cum += sex_ok && (c->eras & (1 << era)) ? c->w : 0;
				t[i] = cum;
			}
			if (cum <= 0) /* no character for this era: allow every era */
				for (int i = 0; i < p->ngiven; i++) {
					const jl_gen_namechar_t *c = &p->given[i];
					cum += c->group == 'u' || c->group == (s ? 'f' : 'm') ? c->w : 0.0001;
					t[i] = cum;
				}
			r->given_cum[s][era] = t;
		}
	return JL_OK;
}

static void cat_utf8(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst), k = strlen(s);
	if (n + k + 1 <= cap) {
		memcpy(dst + n, s, k + 1);
	}
}

void jl_region_name(const jl_run_t *r, jl_rng_t *g, int eth, int sex, int era, char *sur, size_t nsur, char *given,
		    size_t ngiven, char *py, size_t npy)
{
	const jl_gen_params_t *p = r->p;
	const double *sc = r->sur_cum[eth >= 0 && eth < 100 ? eth : 0];
	const jl_gen_namechar_t *s = &p->surnames[jl_rng_pick_cum(g, sc, (uint32_t)p->nsurnames)];
	sur[0] = given[0] = py[0] = 0;
	cat_utf8(sur, nsur, s->ch);
	cat_utf8(py, npy, s->py);
	cat_utf8(py, npy, " ");
	const double *gc = r->given_cum[sex == 2][era];
	int nchar = jl_rng_bern(g, p->single_given[era]) ? 1 : 2;
	uint32_t prev = UINT32_MAX;
	for (int i = 0; i < nchar; i++) {
		uint32_t k = jl_rng_pick_cum(g, gc, (uint32_t)p->ngiven);
		if (k == prev) /* no doubled characters except by design (rare) */
			k = jl_rng_pick_cum(g, gc, (uint32_t)p->ngiven);
		prev = k;
		cat_utf8(given, ngiven, p->given[k].ch);
		cat_utf8(py, npy, p->given[k].py);
	}
}

static void make_uscc(jl_run_t *r, jl_org_t *o, uint32_t idx, uint32_t area)
{
	char c[19];
	const kind_info_t *k = &kinds[o->kind];
	/* Body: a class digit then 7 digits, bijective in the org index (no collisions). */
	uint32_t v = (uint32_t)((idx * 7919ULL + (r->seed % 10000000ULL)) % 10000000ULL);
	snprintf(c, sizeof c, "%s%06u%c%07u", k->uscc2, area, k->uscc2[0] == '1' ? '4' : 'M', v);
	c[16] = jl_orgcode_check(c + 8);
	c[17] = jl_uscc_check(c);
	c[18] = 0;
	memcpy(o->uscc, c, 19);
}

static int32_t add_org(jl_run_t *r, uint32_t *cap, int kind, uint32_t county, int32_t town, int32_t village,
		       const char *name)
{
	if (r->norgs == *cap) {
		uint32_t nc = *cap * 2;
		jl_org_t *n = jl_arena_alloc(r->a, nc * sizeof *n);
		if (!n)
			return -1;
		memcpy(n, r->orgs, r->norgs * sizeof *n);
		r->orgs = n;
		*cap = nc;
	}
	uint32_t i = r->norgs++;
	jl_org_t *o = &r->orgs[i];
	memset(o, 0, sizeof *o);
	o->kind = (uint8_t)kind;
	o->county = county;
	o->town = town;
	o->village = village;
	o->name = name;
	snprintf(o->id, sizeof o->id, "org-%06u-%u", r->geo.counties[county].code, i);
	uint32_t area = kind <= OK_PREF_CDC ? r->geo.pref_code : r->geo.counties[county].code;
	make_uscc(r, o, i, area);
	return (int32_t)i;
}

static jl_rc build_orgs(jl_run_t *r)
{
	jl_geo_t *g = &r->geo;
	uint32_t cap = 256;
	r->orgs = jl_arena_alloc(r->a, cap * sizeof *r->orgs);
	r->town_hc = jl_arena_alloc(r->a, (g->ntowns ? g->ntowns : 1) * sizeof(int32_t));
	r->vill_clinic = jl_arena_alloc(r->a, g->nvillages * sizeof(int32_t));
	if (!r->orgs || !r->town_hc || !r->vill_clinic)
		return JL_ENOMEM;
	jl_rng_t rg = jl_rng_key(r->seed, JL_RNG_ORG, 0);
	const char *pref = g->pref_name;
	static const char *const pref_sufs[] = {"白族自治州", "彝族自治州", "藏族自治州", "自治州", "地区", "市", "盟", NULL};
	char *pshort = jl_arena_strndup(r->a, pref, stem(pref, pref_sufs));
	if (!pshort)
		return JL_ENOMEM;
	for (uint32_t c = 0; c < g->ncounties; c++) {
		const char *cn = g->counties[c].name;
		double rp = g->counties[c].weight;
		double pop = rp * r->scale; /* simulated residents of this county */
		for (int k = 0; k < OK_NKINDS; k++) {
			r->kind0[c][k] = r->norgs;
			int n = 0;
			switch (k) {
			case OK_PREF_HOSP: n = c == 0 ? 2 : 0; break;
			case OK_PREF_TCM: case OK_PREF_MCH: case OK_PREF_CDC: n = c == 0; break;
			case OK_COUNTY_HOSP: case OK_COUNTY_TCM: case OK_COUNTY_MCH: case OK_COUNTY_CDC: n = 1; break;
			case OK_TOWN_HC: case OK_CHC: case OK_VILLAGE: n = 0; break; /* structural, below */
			case OK_PRIVATE_HOSP: n = (int)(pop / 60000.0 + 0.5); break;
			case OK_CLINIC: n = (int)(pop / 4000.0 + 0.5); break;
			case OK_PHARMACY: n = (int)(pop / 2500.0 + 0.5); break;
			case OK_CAREHOME: n = (int)(pop / 40000.0 + 0.5); break;
			}
			if ((k == OK_CLINIC || k == OK_PHARMACY || k == OK_CAREHOME) && n < 1)
				n = 1;
			if (k == OK_TOWN_HC) {
				for (uint32_t t = g->counties[c].town0; t < g->counties[c].town0 + g->counties[c].ntown; t++) {
					const jl_geo_town_t *tw = &g->towns[t];
					static const char *const sufs[] = {"街道办事处", "街道", NULL};
					int kind = tw->street ? OK_CHC : OK_TOWN_HC;
					char *nm = tw->street ? jl_arena_printf(r->a, "%s%.*s社区卫生服务中心", cn,
										 (int)stem(tw->name, sufs), tw->name)
							      : jl_arena_printf(r->a, "%s%s卫生院", cn, tw->name);
					int32_t o = nm ? add_org(r, &cap, kind, c, (int32_t)t, -1, nm) : -1;
					if (o < 0)
						return JL_ENOMEM;
					r->town_hc[t] = o;
				}
				r->kind0[c][OK_CHC] = r->kind0[c][OK_TOWN_HC];
				r->kindn[c][OK_TOWN_HC] = r->kindn[c][OK_CHC] = r->norgs - r->kind0[c][k];
				continue;
			}
			if (k == OK_CHC)
				continue;
			if (k == OK_VILLAGE) {
				for (uint32_t t = g->counties[c].town0; t < g->counties[c].town0 + g->counties[c].ntown; t++)
					for (uint32_t v = g->towns[t].vill0; v < g->towns[t].vill0 + g->towns[t].nvill; v++) {
						const jl_geo_village_t *vl = &g->villages[v];
						r->vill_clinic[v] = -1;
						if (vl->urban)
							continue;
						static const char *const sufs[] = {"村民委员会", "村委会", "居委会", "委员会", NULL};
						size_t sn = stem(vl->name, sufs);
						char *nm = jl_arena_printf(r->a, "%s%s%.*s%s卫生室", cn, g->towns[t].name, (int)sn,
									   vl->name, sn < strlen(vl->name) ? "村" : "");
						int32_t o = nm ? add_org(r, &cap, OK_VILLAGE, c, (int32_t)t, (int32_t)v, nm) : -1;
						if (o < 0)
							return JL_ENOMEM;
						r->vill_clinic[v] = o;
					}
				r->kindn[c][k] = r->norgs - r->kind0[c][k];
				continue;
			}
			for (int i = 0; i < n; i++) {
				char *nm;
				int32_t town = g->counties[c].ntown ? (int32_t)(g->counties[c].town0 +
										jl_rng_below(&rg, g->counties[c].ntown))
								      : -1;
				switch (k) {
				case OK_PREF_HOSP:
					nm = jl_arena_printf(r->a, "%s州%s%s", pshort, i ? "第二" : "", kinds[k].suffix);
					break;
				case OK_PREF_TCM: case OK_PREF_MCH: case OK_PREF_CDC:
					nm = jl_arena_printf(r->a, "%s州%s", pshort, kinds[k].suffix);
					break;
				case OK_COUNTY_HOSP: case OK_COUNTY_TCM: case OK_COUNTY_MCH: case OK_COUNTY_CDC:
					nm = jl_arena_printf(r->a, "%s%s", cn, kinds[k].suffix);
					break;
				case OK_PRIVATE_HOSP:
					nm = jl_arena_printf(r->a, "%s%s%s", cn, private_words[jl_rng_below(&rg, 10)],
							     kinds[k].suffix);
					break;
				case OK_CLINIC: {
					char s[16], gv[16], py[64];
					jl_region_name(r, &rg, 1, 1 + (int)jl_rng_below(&rg, 2), 2, s, sizeof s, gv,
						       sizeof gv, py, sizeof py);
					nm = jl_arena_printf(r->a, "%s%s%s%s%s", cn, town >= 0 ? g->towns[town].name : "", s,
							     gv, jl_rng_bern(&rg, 0.3) ? "中医诊所" : "诊所");
					break;
				}
				case OK_PHARMACY:
					nm = jl_arena_printf(r->a, "%s%s%s第%d分店", cn, pharm_words[jl_rng_below(&rg, 8)],
							     kinds[k].suffix, i + 1);
					break;
				default: /* OK_CAREHOME */
					nm = jl_arena_printf(r->a, "%s%s%s", cn, town >= 0 ? g->towns[town].name : "",
							     i % 2 ? "颐养院" : "敬老院");
					break;
				}
				int32_t o = nm ? add_org(r, &cap, k, c, town, -1, nm) : -1;
				if (o < 0)
					return JL_ENOMEM;
				if (k <= OK_PREF_CDC && i == 0)
					r->pref[k] = o;
				if (k >= OK_COUNTY_HOSP && k <= OK_COUNTY_CDC)
					r->county_org[c][k - OK_COUNTY_HOSP] = o;
			}
			r->kindn[c][k] = r->norgs - r->kind0[c][k];
		}
	}
	return JL_OK;
}

static jl_rc build_staff(jl_run_t *r)
{
	uint32_t total = 0;
	for (uint32_t i = 0; i < r->norgs; i++) {
		const kind_info_t *k = &kinds[r->orgs[i].kind];
		double want = k->staff_real * r->scale;
		uint32_t n = want < k->staff_min ? (uint32_t)k->staff_min : (uint32_t)(want + 0.5);
		if (n > k->staff_real && k->staff_real >= k->staff_min)
			n = (uint32_t)(k->staff_real + 0.5);
		r->orgs[i].nprac = n;
		r->orgs[i].prac0 = total;
		total += n;
	}
	r->pracs = jl_arena_calloc(r->a, total ? total : 1, sizeof *r->pracs);
	if (!r->pracs)
		return JL_ENOMEM;
	r->npracs = total;
	for (uint32_t i = 0; i < r->norgs; i++) {
		jl_org_t *o = &r->orgs[i];
		jl_rng_t g = jl_rng_key(r->seed, JL_RNG_STAFF, i);
		for (uint32_t j = 0; j < o->nprac; j++) {
			jl_prac_t *pr = &r->pracs[o->prac0 + j];
			pr->org = i;
			snprintf(pr->id, sizeof pr->id, "prac-%u-%u", i, j);
			int role;
			switch (o->kind) {
			case OK_VILLAGE: role = PR_VILLAGE_DOCTOR; break;
			case OK_PHARMACY: role = PR_PHARMACIST; break;
			case OK_CAREHOME: role = j == 0 ? PR_DOCTOR : PR_CARER; break;
			case OK_PREF_CDC: case OK_COUNTY_CDC: role = PR_PUBLIC_HEALTH; break;
			case OK_TOWN_HC: case OK_CHC:
				role = j % 3 == 0 ? PR_DOCTOR : j % 3 == 1 ? PR_PUBLIC_HEALTH : (j % 6 == 2 ? PR_NURSE : PR_DOCTOR);
				break;
			default: role = j % 5 < 2 ? PR_DOCTOR : j % 5 == 4 && j > 4 ? PR_PHARMACIST : PR_NURSE;
				if (j == 0)
					role = PR_DOCTOR;
			}
			pr->role = (uint8_t)role;
			pr->sex = role == PR_NURSE ? (jl_rng_bern(&g, 0.95) ? 2 : 1) : (jl_rng_bern(&g, 0.45) ? 2 : 1);
			char s[16], gv[16], py[64];
			int eth = jl_rng_bern(&g, 0.6) ? 1 : r->county_mix[o->county]->code[0];
			jl_region_name(r, &g, eth, pr->sex, 1 + (int)jl_rng_below(&g, 3), s, sizeof s, gv, sizeof gv, py,
				       sizeof py);
			pr->name = jl_arena_printf(r->a, "%s|%s", s, gv);
			if (!pr->name)
				return JL_ENOMEM;
		}
	}
	return JL_OK;
}

static double county_rate(jl_run_t *r, uint32_t c, int which, const jl_gen_rate_t *rt)
{
	jl_rng_t g = jl_rng_key(r->seed, JL_RNG_COUNTY, (uint64_t)c * 16 + (uint64_t)which);
	double v = rt->mean + rt->spread * (2 * jl_rng_u(&g) - 1);
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

jl_rc jl_region_build(jl_run_t *r, jl_diag_t *d)
{
	jl_geo_t *g = &r->geo;
	if (g->ncounties > JL_GEN_MAX_COUNTIES) {
		jl_diag_err(d, "not-supported", NULL, "Prefectures with more than %d counties are not supported",
			    JL_GEN_MAX_COUNTIES);
		return JL_EINVAL;
	}
	const jl_gen_params_t *p = r->p;
	for (uint32_t c = 0; c < g->ncounties; c++) {
		r->county_mix[c] = NULL;
		for (int i = 0; i < p->nmix; i++)
			if (p->mix[i].county == g->counties[c].code)
				r->county_mix[c] = &p->mix[i];
		if (!r->county_mix[c])
			for (int i = 0; i < p->nmix; i++)
				if (!p->mix[i].county)
					r->county_mix[c] = &p->mix[i];
		if (!r->county_mix[c])
			r->county_mix[c] = &p->mix[0];
		r->r_followup[c] = county_rate(r, c, 0, &p->followup);
		r->r_bp[c] = county_rate(r, c, 1, &p->bp_control);
		r->r_fpg[c] = county_rate(r, c, 2, &p->fpg_control);
		r->r_smi[c] = county_rate(r, c, 3, &p->smi_followup);
		r->r_elderly[c] = county_rate(r, c, 4, &p->elderly_check);
		r->r_vaccine[c] = county_rate(r, c, 5, &p->vaccine);
		r->r_child[c] = county_rate(r, c, 6, &p->child_check);
	}
	jl_rc rc = build_weights(r);
	if (!rc)
		rc = build_names(r);
	if (!rc)
		rc = build_orgs(r);
	if (!rc)
		rc = build_staff(r);
	return rc;
}

const jl_prac_t *jl_region_prac(const jl_run_t *r, uint32_t o, int role, uint32_t k)
{
	const jl_org_t *org = &r->orgs[o];
	uint32_t n = 0;
	for (uint32_t j = 0; j < org->nprac; j++)
		n += r->pracs[org->prac0 + j].role == role;
	if (!n)
		return &r->pracs[org->prac0 + k % org->nprac];
	k %= n;
	for (uint32_t j = 0; j < org->nprac; j++)
		if (r->pracs[org->prac0 + j].role == role && k-- == 0)
			return &r->pracs[org->prac0 + j];
	return &r->pracs[org->prac0];
}

int32_t jl_region_pick(const jl_run_t *r, uint32_t c, int kind, uint32_t k)
{
	if (!r->kindn[c][kind])
		return kind == OK_PREF_HOSP ? r->pref[0] : -1;
	return (int32_t)(r->kind0[c][kind] + k % r->kindn[c][kind]);
}

/* --- emitting ---------------------------------------------------------- */

void jl_region_address(jl_run_t *r, uint32_t v, const char *category, const char *line3, int from, int to)
{
	jl_jw_t *w = &r->w;
	const jl_geo_t *g = &r->geo;
	const jl_geo_village_t *vl = &g->villages[v];
	const jl_geo_town_t *tw = &g->towns[vl->town];
	const jl_geo_county_t *cy = &g->counties[tw->county];
	char code[16];
	snprintf(code, sizeof code, "%012llu", (unsigned long long)vl->code);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "extension");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_key_str(w, "url", JL_CANON "/StructureDefinition/cn-division-code");
	jl_jw_keyc(w, "valueCoding");
	jl_jw_obj_begin(w);
	fw_key_str(w, "system", JL_CANON "/CodeSystem/cn-division-nbs");
	fw_key_str(w, "version", "2023");
	fw_key_str(w, "code", code);
	jl_jw_obj_end(w);
	jl_jw_obj_end(w);
	if (category) {
		jl_jw_obj_begin(w);
		fw_key_str(w, "url", JL_CANON "/StructureDefinition/cn-address-category");
		jl_jw_keyc(w, "valueCoding");
		jl_jw_obj_begin(w);
		fw_key_str(w, "system", JL_CANON "/CodeSystem/cn-address-category");
		fw_key_str(w, "code", category);
		jl_jw_obj_end(w);
		jl_jw_obj_end(w);
	}
	jl_jw_arr_end(w);
	fw_key_str(w, "use", category && !strcmp(category, "work") ? "work" : "home");
	char text[512];
	snprintf(text, sizeof text, "%s%s%s%s%s%s", g->prov_name, g->pref_name, cy->name, tw->name, vl->name,
		 line3 ? line3 : "");
	fw_key_str(w, "text", text);
	jl_jw_keyc(w, "line");
	jl_jw_arr_begin(w);
	jl_jw_strc(w, tw->name);
	jl_jw_strc(w, vl->name);
	if (line3)
		jl_jw_strc(w, line3);
	jl_jw_arr_end(w);
	fw_key_str(w, "city", g->pref_name);
	fw_key_str(w, "district", cy->name);
	fw_key_str(w, "state", g->prov_name);
	fw_key_str(w, "country", "CN");
	if (from || to) {
		jl_jw_keyc(w, "period");
		jl_jw_obj_begin(w);
		if (from)
			fw_key_date(w, "start", from);
		if (to)
			fw_key_date(w, "end", to);
		jl_jw_obj_end(w);
	}
	jl_jw_obj_end(w);
}

static void org_address(jl_run_t *r, const jl_org_t *o, bool array)
{
	uint32_t v;
	if (o->village >= 0)
		v = (uint32_t)o->village;
	else if (o->town >= 0 && r->geo.towns[o->town].nvill)
		v = r->geo.towns[o->town].vill0;
	else {
		const jl_geo_county_t *c = &r->geo.counties[o->county];
		v = c->ntown ? r->geo.towns[c->town0].vill0 : 0;
	}
	char no[32];
	snprintf(no, sizeof no, "%u号", 1 + (unsigned)(jl_rng_mix(r->seed ^ (uint64_t)(o - r->orgs)) % 300));
	jl_jw_keyc(&r->w, "address");
	if (array)
		jl_jw_arr_begin(&r->w);
	jl_region_address(r, v, NULL, no, 0, 0);
	if (array)
		jl_jw_arr_end(&r->w);
}

static const char *role_code(int role, const char **display, const char **qual)
{
	switch (role) {
	case PR_NURSE: *display = "护士"; *qual = "注册护士"; return "nurse";
	case PR_PHARMACIST: *display = "药师"; *qual = "执业药师"; return "pharmacist";
	case PR_VILLAGE_DOCTOR: *display = "乡村医生"; *qual = "乡村医生执业证书"; return "doctor";
	case PR_PUBLIC_HEALTH: *display = "公共卫生医师"; *qual = "执业医师(公共卫生类别)"; return "doctor";
	case PR_CARER: *display = "养老护理员"; *qual = "养老护理员职业技能等级证书"; return "nurse";
	default: *display = "医师"; *qual = "执业医师(临床类别)"; return "doctor";
	}
}

static void emit_org(jl_run_t *r, uint32_t i)
{
	const jl_org_t *o = &r->orgs[i];
	const kind_info_t *k = &kinds[o->kind];
	jl_jw_t *w = jl_run_begin(r, "Organization", o->id);
	if (k->level_code) {
		jl_jw_keyc(w, "extension");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_key_str(w, "url", JL_CANON "/StructureDefinition/cn-hospital-level");
		jl_jw_keyc(w, "valueCoding");
		fw_coding(w, JL_CANON "/CodeSystem/cn-hospital-level", k->level_code, k->level_name);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	jl_jw_keyc(w, "identifier");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_key_str(w, "use", "official");
	fw_cc(w, "type", JL_CANON "/CodeSystem/cn-identifier-type", "USCC", "统一社会信用代码");
	fw_key_str(w, "system", JL_CANON "/NamingSystem/uscc");
	fw_key_str(w, "value", o->uscc);
	jl_jw_obj_end(w);
	char oc[11];
	memcpy(oc, o->uscc + 8, 8);
	oc[8] = '-';
	oc[9] = o->uscc[16];
	oc[10] = 0;
	fw_ident(w, "secondary", JL_CANON "/NamingSystem/org-code", oc);
	jl_jw_arr_end(w);
	jl_jw_keyc(w, "active");
	jl_jw_bool(w, true);
	jl_jw_keyc(w, "type");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "coding");
	jl_jw_arr_begin(w);
	fw_coding(w, JL_CANON "/CodeSystem/cn-org-type", k->type_code, k->type_name);
	fw_coding(w, "http://terminology.hl7.org/CodeSystem/organization-type", k->hl7, NULL);
	jl_jw_arr_end(w);
	fw_key_str(w, "text", k->type_name);
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	fw_key_str(w, "name", o->name);
	jl_jw_keyc(w, "telecom");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_key_str(w, "system", "phone");
	char ph[24];
	snprintf(ph, sizeof ph, "0872-%07u", 2000000 + (unsigned)(jl_rng_mix(r->seed + i) % 7999999));
	fw_key_str(w, "value", ph);
	fw_key_str(w, "use", "work");
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	org_address(r, o, true);
	/* Part-of: village clinics under their township centre, county units under the county hospital. */
	if (o->kind == OK_VILLAGE && o->town >= 0)
		fw_ref(w, "partOf", "Organization", r->orgs[r->town_hc[o->town]].id);
	jl_jw_obj_end(w);
	jl_run_emit(r, JL_GEN_ORGANIZATION);

	char lid[32];
	snprintf(lid, sizeof lid, "loc-%u", i);
	w = jl_run_begin(r, "Location", lid);
	fw_key_str(w, "status", "active");
	fw_key_str(w, "name", o->name);
	fw_key_str(w, "mode", "instance");
	org_address(r, o, false);
	fw_cc(w, "physicalType", "http://terminology.hl7.org/CodeSystem/location-physical-type", "bu", "Building");
	fw_ref(w, "managingOrganization", "Organization", o->id);
	jl_jw_obj_end(w);
	jl_run_emit(r, JL_GEN_LOCATION);

	for (uint32_t j = 0; j < o->nprac; j++) {
		const jl_prac_t *pr = &r->pracs[o->prac0 + j];
		const char *disp, *qual;
		const char *code = role_code(pr->role, &disp, &qual);
		w = jl_run_begin(r, "Practitioner", pr->id);
		char lic[24];
		/* 执业证书编码-like: role digit, county code, 8 digits (format [to confirm]). */
		snprintf(lic, sizeof lic, "%d%06u%08u", pr->role + 1, r->geo.counties[o->county].code,
			 o->prac0 + j);
		jl_jw_keyc(w, "identifier");
		jl_jw_arr_begin(w);
		fw_ident(w, "official", JL_CANON "/NamingSystem/practitioner-licence", lic);
		jl_jw_arr_end(w);
		jl_jw_keyc(w, "active");
		jl_jw_bool(w, true);
		const char *bar = strchr(pr->name, '|');
		jl_jw_keyc(w, "name");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_key_str(w, "use", "official");
		char full[64];
		snprintf(full, sizeof full, "%.*s%s", (int)(bar - pr->name), pr->name, bar + 1);
		fw_key_str(w, "text", full);
		jl_jw_keyc(w, "family");
		jl_jw_str(w, jl_str(pr->name, (size_t)(bar - pr->name)));
		jl_jw_keyc(w, "given");
		jl_jw_arr_begin(w);
		jl_jw_strc(w, bar + 1);
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		fw_key_str(w, "gender", pr->sex == 2 ? "female" : "male");
		jl_jw_keyc(w, "qualification");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_cc(w, "code", JL_CANON "/CodeSystem/cn-practitioner-qualification", qual, qual);
		fw_ref(w, "issuer", "Organization", o->id);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
		jl_run_emit(r, JL_GEN_PRACTITIONER);

		char rid[32];
		snprintf(rid, sizeof rid, "role-%u-%u", i, j);
		w = jl_run_begin(r, "PractitionerRole", rid);
		jl_jw_keyc(w, "active");
		jl_jw_bool(w, true);
		fw_ref(w, "practitioner", "Practitioner", pr->id);
		fw_ref(w, "organization", "Organization", o->id);
		fw_cc_arr(w, "code", "http://terminology.hl7.org/CodeSystem/practitioner-role", code, disp);
		jl_jw_keyc(w, "location");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		char lref[64];
		snprintf(lref, sizeof lref, "Location/%s", lid);
		fw_key_str(w, "reference", lref);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
		jl_run_emit(r, JL_GEN_PRACTITIONERROLE);
	}
	/* Family-doctor team of a township health centre / community centre. */
	if (o->kind == OK_TOWN_HC || o->kind == OK_CHC) {
		char tid[32];
		snprintf(tid, sizeof tid, "team-%u", i);
		w = jl_run_begin(r, "CareTeam", tid);
		fw_key_str(w, "status", "active");
		fw_cc_arr(w, "category", SYS_LOINC, "LA28865-6", "Longitudinal care-coordination focused care team");
		char nm[256];
		snprintf(nm, sizeof nm, "%s家庭医生团队", o->name);
		fw_key_str(w, "name", nm);
		jl_jw_keyc(w, "participant");
		jl_jw_arr_begin(w);
		for (uint32_t j = 0; j < o->nprac && j < 6; j++) {
			const jl_prac_t *pr = &r->pracs[o->prac0 + j];
			const char *disp, *qual;
			const char *code = role_code(pr->role, &disp, &qual);
			jl_jw_obj_begin(w);
			fw_cc_arr(w, "role", "http://terminology.hl7.org/CodeSystem/practitioner-role", code, disp);
			fw_ref(w, "member", "Practitioner", pr->id);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
		jl_jw_keyc(w, "managingOrganization");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		char oref[40];
		snprintf(oref, sizeof oref, "Organization/%s", o->id);
		fw_key_str(w, "reference", oref);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		jl_jw_obj_end(w);
		jl_run_emit(r, JL_GEN_CARETEAM);
	}
}

void jl_region_emit(jl_run_t *r)
{
	for (uint32_t i = 0; i < r->norgs && !r->rc; i++)
		emit_org(r, i);
	r->st->organizations = r->norgs;
}
