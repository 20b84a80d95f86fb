/*
 * engine — one pass over the persons of the facts; for each person, each
 * indicator's denominator members (with their anchor date and village)
 * are found, the numerator rule is applied to each, and the counts land in
 * the member's village × sex × age-band cell. Sections of
 * ../shared/standards/indicators.md are cited where a rule comes from.
 */
#include "monitor/engine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/time.h"

typedef struct win {
	int32_t start, end, ref; /* §1: the reference date is the last day of the window */
} win_t;

void jl_engine_window(const jl_cube_t *c, const jl_indicator_t *ind, int32_t *start, int32_t *end)
{
	if (ind->window == JL_WIN_MCH) { /* 妇幼年报: 1 Oct of the previous year – 30 Sep */
		*start = jl_facts_day(c->year - 1, 10, 1);
		*end = jl_facts_day(c->year, 9, 30);
	} else {
		*start = jl_facts_day(c->year, 1, 1);
		*end = jl_facts_day(c->year, 12, 31);
	}
}

/* Village of residence on `day` (current-address period covering it); -1 when not resident. */
static int32_t village_on(const jl_fact_person_t *p, int32_t day)
{
	for (int i = 0; i < p->nres; i++)
		if (p->res[i].from <= day && day <= p->res[i].to)
			return p->res[i].village;
	return -1;
}

static int band_of(const jl_catalog_t *c, int32_t age)
{
	int b = 0;
	while (b + 1 < (int)c->nbands && age >= c->bands[b + 1])
		b++;
	return b;
}

static bool in_kinds(const jl_cat_kind *k, uint8_t n, uint8_t kind)
{
	for (uint8_t i = 0; i < n; i++)
		if (k[i] == kind)
			return true;
	return false;
}

typedef struct member {
	int32_t anchor;  /* the date rules measure "days" from */
	int32_t village;
	int32_t age;     /* at the reference date (or the anchor for births and deaths) */
} member_t;

/* ---- numerator rules ---- */

/* The day `months` calendar months after `day` (the day of month clamped to the month's end). */
static int32_t add_months(int32_t day, int32_t months)
{
	int y, m, d;
	jl_facts_civil(day, &y, &m, &d);
	int32_t mi = y * 12 + (m - 1) + months;
	int ny = (int)(mi / 12), nm = (int)(mi % 12) + 1;
	int32_t last = jl_facts_day(nm == 12 ? ny + 1 : ny, nm == 12 ? 1 : nm + 1, 1) - 1;
	int32_t r = jl_facts_day(ny, nm, 1) + d - 1;
	return r < last ? r : last;
}

/*
 * 4:2:2 (§4.5), appropriate to the child's age at the reference date: each
 * scheduled check (age a months) has the window [a − tol, a + tol] months
 * after birth; check-ups up to the reference date are matched to checks in
 * age order, each check-up to at most one check, the earliest unused one in
 * the window (so a check-up outside every window counts for nothing). A
 * check is due once its window has closed by the reference date. Met when
 * in every year of life the matched checks are at least the due ones;
 * a child too young for any check is met or not as the rule says.
 */
static bool eval_schedule(const jl_fact_person_t *p, const jl_fact_ev_t *ev, const jl_pred_t *pr, const win_t *w)
{
	uint32_t next = 0; /* the first check-up not yet used */
	int32_t due_total = 0;
	uint32_t k = 0;
	bool met = true;
	for (uint32_t y = 0; y < pr->nsched_years; y++) {
		int32_t due = 0, done = 0;
		for (uint32_t j = 0; j < pr->sched_per_year[y]; j++, k++) {
			int32_t lo = add_months(p->birth, (int32_t)pr->sched_months[k] - pr->sched_tol_months);
			int32_t hi = add_months(p->birth, (int32_t)pr->sched_months[k] + pr->sched_tol_months);
			if (hi <= w->ref)
				due++;
			while (next < p->nev && (ev[next].day < lo || !in_kinds(pr->kinds, pr->nkinds, ev[next].kind)))
				next++;
			if (next < p->nev && ev[next].day <= hi && ev[next].day <= w->ref) {
				done++;
				next++;
			}
		}
		due_total += due;
		met &= done >= due;
	}
	return due_total ? met : pr->sched_none_due_met;
}

static bool eval_pred(const jl_facts_t *f, const jl_fact_person_t *p, const jl_pred_t *pr, const member_t *m,
		      const win_t *w)
{
	const jl_fact_ev_t *ev = f->evs + p->ev0;
	int32_t lo = pr->rel ? m->anchor + pr->day_lo : w->start, hi = pr->rel ? m->anchor + pr->day_hi : w->end;
	switch (pr->rule) {
	case JL_RULE_ALL:
		for (uint32_t i = 0; i < pr->nall; i++)
			if (!eval_pred(f, p, &pr->all[i], m, w))
				return false;
		return true;
	case JL_RULE_IDENTIFIER:
		for (uint32_t k = 0; k < f->nidsys; k++)
			if (!strcmp(f->idsys[k], pr->system))
				return (p->idflags >> k) & 1;
		return false;
	case JL_RULE_ENCOUNTERS:
	case JL_RULE_FOLLOWUPS: {
		/* §3.2: counted within the window, face-to-face kinds only by default, optional spacing. */
		const jl_cat_kind *kinds = pr->fr ? pr->fr->kinds : pr->kinds;
		uint8_t nk = pr->fr ? pr->fr->nkinds : pr->nkinds, cls = pr->fr ? pr->fr->classes : pr->classes;
		int32_t min = pr->fr ? pr->fr->min : pr->min, gap = pr->fr ? pr->fr->max_gap_days : pr->max_gap_days;
		int32_t n = 0, last = INT32_MIN;
		bool gap_ok = true;
		for (uint32_t i = 0; i < p->nev; i++) {
			if (ev[i].day < lo || ev[i].day > hi || !in_kinds(kinds, nk, ev[i].kind) || (cls && !(ev[i].cls & cls)))
				continue;
			if (gap && last != INT32_MIN && ev[i].day - last > gap)
				gap_ok = false;
			last = ev[i].day;
			n++;
		}
		return n >= min && gap_ok;
	}
	case JL_RULE_LAST_MEASURE:
	case JL_RULE_FIRST_MEASURE: {
		/* §3.3: the last follow-up in the window with a valid measurement; none = not controlled. */
		const jl_fact_ev_t *pick = NULL;
		for (uint32_t i = 0; i < p->nev; i++) {
			const jl_fact_ev_t *e = &ev[i];
			if (e->day < lo || e->day > hi || !in_kinds(pr->kinds, pr->nkinds, e->kind) || !e->has_v1 ||
			    (pr->bp && !e->has_v2) || (pr->nlinked && !in_kinds(pr->linked, pr->nlinked, e->link)))
				continue;
			if (!pick || pr->rule == JL_RULE_LAST_MEASURE)
				pick = e;
		}
		if (!pick)
			return false;
		double below = pr->below;
		if (pr->old_age > 0 && jl_facts_age(p->birth, pick->day) >= pr->old_age) /* age at that follow-up */
			below = pr->old_below;
		return pick->v1 < below && (!pr->bp || pick->v2 < pr->below2);
	}
	case JL_RULE_EPISODE:
		for (uint32_t i = 0; i < p->nev; i++) {
			const jl_fact_ev_t *e = &ev[i];
			if (!in_kinds(pr->kinds, pr->nkinds, e->kind))
				continue;
			if (pr->at_ref ? (e->day <= w->ref && e->end >= w->ref) : (e->day <= hi && e->end >= lo))
				return true;
		}
		return false;
	case JL_RULE_SCHEDULE:
		return eval_schedule(p, ev, pr, w);
	case JL_RULE_IMMUNIZATION:
		for (uint32_t i = 0; i < p->nev; i++)
			if (ev[i].day >= lo && ev[i].day <= hi && in_kinds(pr->kinds, pr->nkinds, ev[i].kind) &&
			    (!pr->dose || ev[i].dose == pr->dose))
				return true;
		return false;
	}
	return false;
}

/* ---- populations ---- */

typedef void (*member_fn)(void *arg, const member_t *m);

static bool age_ok(const jl_popdef_t *d, int32_t age)
{
	return (d->age_min < 0 || age >= d->age_min) && (d->age_max < 0 || age < d->age_max);
}

static bool death_ok(const jl_facts_t *f, const jl_fact_person_t *p, const jl_popdef_t *d)
{
	if (d->sex && p->sex != d->sex)
		return false;
	if (d->age_below_days > 0 && p->death - p->birth >= d->age_below_days)
		return false;
	if (d->age_below_days < 0 && jl_facts_age(p->birth, p->death) >= -d->age_below_days)
		return false;
	if (d->nicd && !jl_icd_in(d->icd, d->nicd, p->cause))
		return false;
	if (d->nicd_ex && p->cause && jl_icd_in(d->icd_ex, d->nicd_ex, p->cause))
		return false;
	if (d->preg_days) { /* §5.3: during pregnancy or within 42 days of its end */
		jl_cat_kind preg = jl_catalog_kind(f->cat, jl_cstr("eoc:pregnancy"));
		jl_cat_kind del = jl_catalog_kind(f->cat, jl_cstr("enc:delivery"));
		const jl_fact_ev_t *ev = f->evs + p->ev0;
		for (uint32_t i = 0; i < p->nev; i++) {
			if (ev[i].kind == del && p->death >= ev[i].day && p->death - ev[i].day <= d->preg_days)
				return true;
			if (ev[i].kind == preg && ev[i].day <= p->death && p->death <= ev[i].end)
				return true;
		}
		return false;
	}
	return true;
}

static void members(const jl_facts_t *f, const jl_fact_person_t *p, const jl_popdef_t *d, const win_t *w,
		    member_fn fn, void *arg)
{
	const jl_fact_ev_t *ev = f->evs + p->ev0;
	member_t m;
	switch (d->pop) {
	case JL_POP_RESIDENTS: /* §1: 常住 at the reference date, age at the reference date */
		if (p->birth > w->ref || p->death <= w->ref || (d->sex && p->sex != d->sex))
			return;
		m = (member_t){w->ref, village_on(p, w->ref), jl_facts_age(p->birth, w->ref)};
		if (m.village >= 0 && age_ok(d, m.age))
			fn(arg, &m);
		return;
	case JL_POP_REGISTERED: /* 在册 at the reference date */
		if (p->death <= w->ref)
			return;
		for (uint32_t i = 0; i < p->nev; i++)
			if (ev[i].kind == d->episode && ev[i].day <= w->ref && ev[i].end >= w->ref) {
				m = (member_t){w->ref, village_on(p, w->ref), jl_facts_age(p->birth, w->ref)};
				if (m.village >= 0 && age_ok(d, m.age))
					fn(arg, &m);
				return;
			}
		return;
	case JL_POP_MANAGED: {
		/*
		 * §3.1: on the register, a management record (registration or
		 * follow-up) in the window, resident in the area. Deaths and moves
		 * in the window (the default rule): counted where they lived on
		 * their last day, if a management record came before the event.
		 */
		bool on_register = false;
		for (uint32_t i = 0; i < p->nev; i++)
			on_register |= ev[i].kind == d->episode && ev[i].day <= w->end && ev[i].end >= w->start;
		if (!on_register)
			return;
		int32_t last = w->ref;
		if (p->death <= w->ref)
			last = p->death - 1;
		if (village_on(p, last) < 0) /* moved out: the last day of residence within the window */
			for (int r = 0; r < p->nres; r++)
				if (p->res[r].to >= w->start && p->res[r].to < last && p->res[r].to >= p->res[r].from)
					last = p->res[r].to;
		if (last < w->start || village_on(p, last) < 0)
			return;
		bool record = false;
		for (uint32_t i = 0; i < p->nev && !record; i++)
			record = ev[i].day >= w->start && ev[i].day <= last &&
				 ((ev[i].kind == d->episode) || in_kinds(d->mgmt, d->nmgmt, ev[i].kind));
		m = (member_t){w->ref, village_on(p, last), jl_facts_age(p->birth, w->ref)};
		if (record && age_ok(d, m.age))
			fn(arg, &m);
		return;
	}
	case JL_POP_BIRTHS: /* §3.4: live births by residence (the newborn's household) at birth */
		if (p->birth < w->start || p->birth > w->end)
			return;
		m = (member_t){p->birth, village_on(p, p->birth), 0};
		if (m.village < 0 && p->nres && p->res[0].from > p->birth && p->res[0].from - p->birth <= 60)
			m.village = p->res[0].village; /* registered shortly after birth */
		if (m.village >= 0)
			fn(arg, &m);
		return;
	case JL_POP_DELIVERIES: {
		jl_cat_kind del = jl_catalog_kind(f->cat, jl_cstr("enc:delivery"));
		for (uint32_t i = 0; i < p->nev; i++)
			if (ev[i].kind == del && ev[i].day >= w->start && ev[i].day <= w->end) {
				m = (member_t){ev[i].day, village_on(p, ev[i].day), jl_facts_age(p->birth, ev[i].day)};
				if (m.village >= 0)
					fn(arg, &m);
			}
		return;
	}
	case JL_POP_DEATHS:
		if (p->death < w->start || p->death > w->end || !death_ok(f, p, d))
			return;
		m = (member_t){p->death, village_on(p, p->death), jl_facts_age(p->birth, p->death)};
		if (m.village < 0)
			m.village = village_on(p, p->death - 1);
		if (m.village >= 0)
			fn(arg, &m);
		return;
	case JL_POP_CASES: /* one member per person: the first notified case in the window */
		for (uint32_t i = 0; i < p->nev; i++)
			if (ev[i].kind == JL_FACT_KIND_CASE && ev[i].day >= w->start && ev[i].day <= w->end &&
			    jl_icd_in(d->icd, d->nicd, ev[i].icd)) {
				m = (member_t){ev[i].day, village_on(p, ev[i].day), jl_facts_age(p->birth, ev[i].day)};
				if (m.village >= 0)
					fn(arg, &m);
				return;
			}
		return;
	}
}

typedef struct eval_ctx {
	jl_cube_t *c;
	const jl_facts_t *f;
	const jl_fact_person_t *p;
	const jl_indicator_t *ind;
	jl_cell_t *base; /* this indicator's cells */
	win_t w;
	bool num_only;
} eval_ctx_t;

static jl_cell_t *cell(eval_ctx_t *x, const member_t *m)
{
	int b = band_of(x->c->cat, m->age < 0 ? 0 : m->age);
	return &x->base[((size_t)x->c->vrank[m->village] * 3 + x->p->sex) * x->c->nb + (size_t)b];
}

static void on_den(void *arg, const member_t *m)
{
	eval_ctx_t *x = arg;
	jl_cell_t *c = cell(x, m);
	c->den++;
	if (x->ind->num_pop.pop == JL_POP_NONE && eval_pred(x->f, x->p, &x->ind->num, m, &x->w))
		c->num++;
}

static void on_num(void *arg, const member_t *m)
{
	eval_ctx_t *x = arg;
	cell(x, m)->num++;
}

/* §5.1/§5.2 inputs: mid-year (1 July) residents and the year's deaths by age group. */
static void add_lifetable(jl_cube_t *c, const jl_fact_person_t *p, const jl_icd_range_t *ncd, uint32_t nncd)
{
	int32_t start = jl_facts_day(c->year, 1, 1), end = jl_facts_day(c->year, 12, 31), mid = jl_facts_day(c->year, 7, 1);
	if (p->birth <= mid && p->death > mid) {
		int32_t v = village_on(p, mid);
		if (v >= 0)
			c->lt[(((size_t)c->vrank[v] * 3 + p->sex) * 3 + 0) * JL_LT_GROUPS +
			      jl_stats_lt_group(jl_facts_age(p->birth, mid))] += 1;
	}
	if (p->death >= start && p->death <= end) {
		int32_t v = village_on(p, p->death);
		if (v < 0)
			v = village_on(p, p->death - 1);
		if (v < 0)
			return;
		int g = jl_stats_lt_group(jl_facts_age(p->birth, p->death));
		size_t d = (size_t)c->vrank[v];
		c->lt[((d * 3 + p->sex) * 3 + 1) * JL_LT_GROUPS + g] += 1;
		if (p->cause && jl_icd_in(ncd, nncd, p->cause))
			c->lt[((d * 3 + p->sex) * 3 + 2) * JL_LT_GROUPS + g] += 1;
	}
}

/* Whether some target row of indicator i compares with the previous year. */
static bool needs_prev(const jl_catalog_t *cat, uint32_t i)
{
	for (uint32_t k = 0; k < cat->ntargets; k++)
		if ((cat->targets[k].kind == JL_T_ANNUAL || cat->targets[k].kind == JL_T_INCREASING) &&
		    !strcmp(cat->targets[k].indicator, cat->inds[i].id))
			return true;
	return false;
}

/* The cube of `year` for the indicators in `want` (NULL: all). */
static jl_rc compute(const jl_facts_t *f, int32_t year, const bool *want, jl_cube_t **out)
{
	const jl_catalog_t *cat = f->cat;
	jl_cube_t *c = jl_calloc(JL_MEM_MISC, 1, sizeof *c);
	if (!c)
		return JL_ENOMEM;
	c->f = f;
	c->cat = cat;
	c->reg = f->reg;
	c->year = year;
	c->vrank = f->vrank;
	c->nv = f->npopulated; /* only villages someone lived in: a province's cells where its people are */
	c->nb = cat->nbands;
	c->slot = jl_malloc(JL_MEM_MISC, (cat->ninds ? cat->ninds : 1) * sizeof *c->slot);
	if (!c->slot) {
		jl_engine_free(c);
		return JL_ENOMEM;
	}
	uint32_t nslots = 0;
	bool lt = false;
	const jl_indicator_t *ncd = NULL;
	for (uint32_t i = 0; i < cat->ninds; i++) {
		bool on = !want || (i < 256 && want[i]); /* want has 256 entries, as the windows below */
		c->slot[i] = on ? (int32_t)nslots++ : -1;
		lt |= on && cat->inds[i].method != JL_METHOD_COUNT && cat->inds[i].method != JL_METHOD_AGGREGATE;
		if (cat->inds[i].method == JL_METHOD_NCD)
			ncd = &cat->inds[i];
	}
	size_t ncells = (size_t)nslots * c->nv * 3 * c->nb, nlt = (size_t)c->nv * 3 * 3 * JL_LT_GROUPS;
	c->cells = jl_calloc(JL_MEM_MISC, ncells ? ncells : 1, sizeof *c->cells);
	c->lt = lt ? jl_calloc(JL_MEM_MISC, nlt ? nlt : 1, sizeof *c->lt) : NULL;
	if (!c->cells || (lt && !c->lt)) {
		jl_engine_free(c);
		return JL_ENOMEM;
	}
	c->snapshot_us = f->snapshot_us;
	c->computed_us = jl_now_us();
	win_t wins[256];
	for (uint32_t i = 0; i < cat->ninds && i < 256; i++) {
		jl_engine_window(c, &cat->inds[i], &wins[i].start, &wins[i].end);
		wins[i].ref = wins[i].end;
	}
	for (uint32_t pi = 0; pi < f->npersons; pi++) {
		const jl_fact_person_t *p = &f->persons[pi];
		if (c->lt)
			add_lifetable(c, p, ncd ? ncd->icd : NULL, ncd ? ncd->nicd : 0);
		for (uint32_t i = 0; i < cat->ninds && i < 256; i++) {
			const jl_indicator_t *ind = &cat->inds[i];
			if (ind->method != JL_METHOD_COUNT || c->slot[i] < 0)
				continue;
			eval_ctx_t x = {.c = c, .f = f, .p = p, .ind = ind, .w = wins[i],
					.base = c->cells + (size_t)c->slot[i] * c->nv * 3 * c->nb};
			members(f, p, &ind->den, &x.w, on_den, &x);
			if (ind->num_pop.pop)
				members(f, p, &ind->num_pop, &x.w, on_num, &x);
		}
	}
	*out = c;
	return JL_OK;
}

jl_rc jl_engine_compute(const jl_facts_t *f, int32_t year, jl_cube_t **out)
{
	jl_cube_t *c;
	jl_rc rc = compute(f, year, NULL, &c);
	if (rc)
		return rc;
	bool want[256] = {false}, any = false;
	for (uint32_t i = 0; i < f->cat->ninds && i < 256; i++)
		any |= want[i] = needs_prev(f->cat, i);
	if (any && (rc = compute(f, year - 1, want, &c->prev)) != JL_OK) {
		jl_engine_free(c);
		return rc;
	}
	*out = c;
	return JL_OK;
}

void jl_engine_free(jl_cube_t *c)
{
	if (!c)
		return;
	jl_engine_free(c->prev);
	jl_free(JL_MEM_MISC, c->slot);
	jl_free(JL_MEM_MISC, c->cells);
	jl_free(JL_MEM_MISC, c->lt);
	jl_free(JL_MEM_MISC, c);
}

size_t jl_engine_bytes(const jl_cube_t *c)
{
	if (!c)
		return 0;
	size_t nslots = 0;
	for (uint32_t i = 0; i < c->cat->ninds; i++)
		nslots += c->slot[i] >= 0;
	size_t n = sizeof *c + c->cat->ninds * sizeof *c->slot + nslots * c->nv * 3 * c->nb * sizeof *c->cells;
	if (c->lt)
		n += (size_t)c->nv * 3 * 3 * JL_LT_GROUPS * sizeof *c->lt;
	return n + jl_engine_bytes(c->prev);
}

/* ---- who was counted ---- */

typedef struct who {
	eval_ctx_t x;
	uint32_t v0, v1;  /* the node's villages [v0, v1) */
	bool den, num;
} who_t;

static void who_den(void *arg, const member_t *m)
{
	who_t *k = arg;
	if ((uint32_t)m->village < k->v0 || (uint32_t)m->village >= k->v1)
		return;
	k->den = true;
	if (k->x.ind->num_pop.pop == JL_POP_NONE && eval_pred(k->x.f, k->x.p, &k->x.ind->num, m, &k->x.w))
		k->num = true;
}

static void who_num(void *arg, const member_t *m)
{
	who_t *k = arg;
	if ((uint32_t)m->village >= k->v0 && (uint32_t)m->village < k->v1)
		k->num = true;
}

void jl_engine_members(const jl_cube_t *c, uint32_t i, uint32_t node, jl_engine_member_fn fn, void *arg)
{
	const jl_indicator_t *ind = &c->cat->inds[i];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	if (ind->method != JL_METHOD_COUNT)
		return;
	who_t k = {.x = {.c = (jl_cube_t *)c, .f = c->f, .ind = ind}, .v0 = nd->vill0, .v1 = nd->vill0 + nd->nvill};
	jl_engine_window(c, ind, &k.x.w.start, &k.x.w.end);
	k.x.w.ref = k.x.w.end;
	for (uint32_t pi = 0; pi < c->f->npersons; pi++) {
		k.x.p = &c->f->persons[pi];
		k.den = k.num = false;
		members(c->f, k.x.p, &ind->den, &k.x.w, who_den, &k);
		if (ind->num_pop.pop)
			members(c->f, k.x.p, &ind->num_pop, &k.x.w, who_num, &k);
		if (k.den || k.num)
			fn(arg, k.x.p, k.den, k.num);
	}
}

/* ---- results ---- */

static void sum_lt(const jl_cube_t *c, const jl_region_node_t *nd, int sex, double *pop, double *deaths, double *ncd)
{
	memset(pop, 0, JL_LT_GROUPS * sizeof *pop);
	memset(deaths, 0, JL_LT_GROUPS * sizeof *deaths);
	memset(ncd, 0, JL_LT_GROUPS * sizeof *ncd);
	for (uint32_t v = c->vrank[nd->vill0]; v < c->vrank[nd->vill0 + nd->nvill]; v++)
		for (int s = 0; s < 3; s++) {
			if (sex && s != sex)
				continue;
			const double *b = c->lt + ((size_t)v * 3 + s) * 3 * JL_LT_GROUPS;
			for (int g = 0; g < JL_LT_GROUPS; g++) {
				pop[g] += b[g];
				deaths[g] += b[JL_LT_GROUPS + g];
				ncd[g] += b[2 * JL_LT_GROUPS + g];
			}
		}
}

/*
 * Targets against the previous year (§7). annual_change ("每年降低0.5个百分点
 * 以上": value −0.5 per year, in the indicator's unit, so percentage points
 * for a %): the change since last year must be at least that large in the
 * target's direction (≤ −0.5 here; ≥ v for a positive v), gap = change − v;
 * on track when the value is on the right side of the straight path from the
 * baseline, baseline + v × (year − baselineYear). increasing ("持续提升"):
 * strictly above last year. No previous value: met unknown.
 */
/* Judgements are made on the values as written (four decimals), so that 52.2 − 52.7 is −0.5, not −0.4999996. */
static double shown(double v)
{
	return round(v * 1e4) / 1e4;
}

static void judge_change(const jl_cube_t *c, const jl_indicator_t *ind, uint32_t node, jl_result_t *r)
{
	const jl_cat_target_t *t = r->target;
	r->on_track = -1;
	if (c->prev && r->has_value) {
		jl_result_t p;
		jl_engine_result(c->prev, (uint32_t)(ind - c->cat->inds), node, 0, -1, &p);
		if (p.has_value) {
			r->has_prev = true;
			r->prev_value = p.value;
			r->change = shown(shown(r->value) - shown(p.value));
		}
	}
	if (t->kind == JL_T_INCREASING) {
		if (r->has_prev)
			r->met = r->change > 0;
		return;
	}
	if (!t->has_value)
		return;
	bool down = t->value < 0;
	if (r->has_prev) {
		r->has_gap = true;
		r->gap = shown(r->change - t->value);
		r->met = down ? r->change <= t->value : r->change >= t->value;
	}
	if (t->has_baseline && t->baseline_year && c->year > t->baseline_year) {
		r->has_path = true;
		r->path = shown(t->baseline + t->value * (c->year - t->baseline_year));
		if (r->has_value)
			r->on_track = down ? shown(r->value) <= r->path : shown(r->value) >= r->path;
	}
}

static void set_target(const jl_cube_t *c, const jl_indicator_t *ind, uint32_t node, jl_result_t *r)
{
	const char *codes[8];
	uint32_t n = 0;
	for (int32_t k = (int32_t)node; k >= 0 && n < 7; k = c->reg->nodes[k].parent)
		codes[n++] = c->reg->nodes[k].code;
	codes[n++] = "000000";
	r->target = jl_catalog_target(c->cat, ind->id, codes, n, c->year);
	r->met = -1;
	if (!r->target)
		return;
	r->target_value = r->target->value;
	if (r->target->kind == JL_T_ANNUAL || r->target->kind == JL_T_INCREASING) {
		judge_change(c, ind, node, r);
		return;
	}
	if (r->target->kind == JL_T_STABLE) { /* 保持稳定: within the tolerance of the baseline, when one is given */
		if (r->has_value && r->target->has_tolerance) {
			r->has_gap = true;
			r->gap = shown(shown(r->value) - r->target->baseline);
			r->met = fabs(r->gap) <= r->target->tolerance;
		}
		return;
	}
	if (!r->target->has_value)
		return;
	if (!r->has_value || r->target->kind > JL_T_DELTA)
		return;
	r->has_gap = true;
	r->gap = r->value - r->target_value;
	switch (r->target->kind) {
	case JL_T_GE:
	case JL_T_DELTA: r->met = r->value >= r->target_value; break;
	case JL_T_GT: r->met = r->value > r->target_value; break;
	case JL_T_LE: r->met = r->value <= r->target_value; break;
	case JL_T_LT: r->met = r->value < r->target_value; break;
	}
}

bool jl_engine_target_line(const jl_result_t *r, double *out)
{
	if (!r->target)
		return false;
	if (r->target->kind == JL_T_ANNUAL) {
		*out = r->path;
		return r->has_path;
	}
	if (r->target->kind == JL_T_STABLE) {
		*out = r->target->baseline;
		return r->target->has_baseline;
	}
	*out = r->target_value;
	return r->target->has_value && r->target->kind <= JL_T_DELTA;
}

void jl_engine_result(const jl_cube_t *c, uint32_t i, uint32_t node, int sex, int band, jl_result_t *r)
{
	const jl_indicator_t *ind = &c->cat->inds[i];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	memset(r, 0, sizeof *r);
	r->lo = r->hi = NAN;
	r->on_track = -1;
	if (c->slot[i] < 0) { /* not computed in this (previous-year) cube */
		r->met = -1;
		return;
	}
	if (ind->method == JL_METHOD_COUNT) {
		const jl_cell_t *base = c->cells + (size_t)c->slot[i] * c->nv * 3 * c->nb;
		for (uint32_t v = c->vrank[nd->vill0]; v < c->vrank[nd->vill0 + nd->nvill]; v++)
			for (int s = 0; s < 3; s++)
				for (uint32_t b = 0; b < c->nb; b++)
					if ((!sex || s == sex) && (band < 0 || (uint32_t)band == b)) {
						r->num += base[((size_t)v * 3 + s) * c->nb + b].num;
						r->den += base[((size_t)v * 3 + s) * c->nb + b].den;
					}
		if (r->den > 0) { /* §1: an empty denominator gives no value, not 0 */
			r->has_value = true;
			r->value = (double)r->num / (double)r->den * ind->factor;
			double lo, hi;
			if (ind->poisson) {
				jl_stats_poisson(r->num, &lo, &hi);
				r->lo = lo / (double)r->den * ind->factor;
				r->hi = hi / (double)r->den * ind->factor;
			} else {
				jl_stats_wilson(r->num, r->den, &lo, &hi);
				r->lo = lo * ind->factor;
				r->hi = hi * ind->factor;
			}
			r->suppressed = r->den < c->cat->small_den;
		}
	} else if (ind->method == JL_METHOD_LIFE_TABLE || ind->method == JL_METHOD_NCD) {
		double pop[JL_LT_GROUPS], deaths[JL_LT_GROUPS], ncd[JL_LT_GROUPS];
		sum_lt(c, nd, sex, pop, deaths, ncd);
		for (int g = 0; g < JL_LT_GROUPS; g++) {
			r->den += (int64_t)pop[g];
			r->num += (int64_t)(ind->method == JL_METHOD_NCD ? ncd[g] : deaths[g]);
		}
		if (ind->method == JL_METHOD_LIFE_TABLE) {
			jl_lifetable_t lt;
			jl_stats_lifetable(deaths, pop, sex, NULL, &lt);
			if (lt.ok) {
				r->has_value = true;
				r->value = lt.e0;
				r->lo = lt.e0_lo;
				r->hi = lt.e0_hi;
			}
		} else if (jl_stats_ncd_prob(ncd, pop, &r->value)) {
			r->has_value = true;
			r->value *= 100;
		}
		r->suppressed = r->has_value && r->den < 100000; /* §5.1: CI or pooling under ~100 000 */
	} else {
		for (uint32_t k = 0; k < c->f->naggr; k++) {
			const jl_fact_aggr_t *a = &c->f->aggr[k];
			if (a->ind == i && a->year == c->year && !strcmp(a->region, nd->code)) {
				r->aggr = a;
				r->has_value = true;
				r->value = a->value;
			}
		}
	}
	set_target(c, ind, node, r);
}

/* ---- JSON ---- */

static void jw_num(jl_jw_t *w, const char *key, double v)
{
	jl_jw_keyc(w, key);
	jl_jw_fixed(w, v, 4);
}

static void result_fields(jl_jw_t *w, const jl_result_t *r, bool with_target)
{
	jl_jw_keyc(w, "numerator");
	jl_jw_int(w, r->num);
	jl_jw_keyc(w, "denominator");
	jl_jw_int(w, r->den);
	if (r->has_value) {
		jw_num(w, "value", r->value);
		if (isfinite(r->lo)) {
			jl_jw_keyc(w, "ci95");
			jl_jw_arr_begin(w);
			jl_jw_fixed(w, r->lo, 4);
			jl_jw_fixed(w, r->hi, 4);
			jl_jw_arr_end(w);
		}
		if (r->suppressed) {
			jl_jw_keyc(w, "smallNumbers");
			jl_jw_bool(w, true);
		}
	} else {
		jl_jw_keyc(w, "value");
		jl_jw_null(w);
	}
	if (!with_target || !r->target)
		return;
	jl_jw_keyc(w, "target");
	jl_jw_obj_begin(w);
	static const char *const kinds[] = {"", "ge", "gt", "le", "lt", "delta_from_baseline", "annual_change",
					    "stable", "increasing"};
	jl_jw_keyc(w, "kind");
	jl_jw_strc(w, kinds[r->target->kind]);
	if (r->target->has_value)
		jw_num(w, "value", r->target_value);
	if (r->target->has_baseline) {
		jw_num(w, "baseline", r->target->baseline);
		jl_jw_keyc(w, "baselineYear");
		jl_jw_int(w, r->target->baseline_year);
	}
	if (r->target->has_tolerance)
		jw_num(w, "tolerance", r->target->tolerance);
	jl_jw_keyc(w, "year");
	jl_jw_int(w, r->target->year);
	jl_jw_keyc(w, "region");
	jl_jw_strc(w, r->target->region);
	jl_jw_keyc(w, "source");
	jl_jw_strc(w, r->target->source);
	jl_jw_obj_end(w);
	if (r->has_prev) {
		jw_num(w, "previousValue", r->prev_value);
		jw_num(w, "change", r->change);
	}
	if (r->has_path)
		jw_num(w, "pathValue", r->path);
	if (r->on_track >= 0) {
		jl_jw_keyc(w, "onTrack");
		jl_jw_bool(w, r->on_track == 1);
	}
	if (r->has_gap)
		jw_num(w, "gap", r->gap);
	if (r->met >= 0) {
		jl_jw_keyc(w, "met");
		jl_jw_bool(w, r->met == 1);
	}
}

static void band_label(const jl_catalog_t *c, uint32_t b, char *out, size_t n)
{
	if (b + 1 < c->nbands)
		snprintf(out, n, "%d-%d", c->bands[b], c->bands[b + 1] - 1);
	else
		snprintf(out, n, "%d+", c->bands[b]);
}

static void day_str(int32_t day, char *out)
{
	int y, m, d;
	jl_facts_civil(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static void one_indicator(const jl_cube_t *c, uint32_t i, uint32_t node, jl_jw_t *w)
{
	const jl_indicator_t *ind = &c->cat->inds[i];
	const jl_region_node_t *nd = &c->reg->nodes[node];
	jl_result_t r;
	jl_engine_result(c, i, node, 0, -1, &r);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "id");
	jl_jw_strc(w, ind->id);
	jl_jw_keyc(w, "name");
	jl_jw_strc(w, ind->name);
	if (ind->name_en && *ind->name_en) {
		jl_jw_keyc(w, "nameEn");
		jl_jw_strc(w, ind->name_en);
	}
	jl_jw_keyc(w, "section");
	jl_jw_strc(w, ind->section);
	jl_jw_keyc(w, "unit");
	jl_jw_strc(w, ind->unit);
	jl_jw_keyc(w, "direction");
	jl_jw_strc(w, ind->direction == JL_DIR_HIGHER ? "higher" : ind->direction == JL_DIR_LOWER ? "lower" : "none");
	static const char *const methods[] = {"count", "life-table", "ncd-30-70", "aggregate"};
	jl_jw_keyc(w, "method");
	jl_jw_strc(w, methods[ind->method]);
	if (ind->method != JL_METHOD_AGGREGATE) {
		int32_t s, e;
		jl_engine_window(c, ind, &s, &e);
		char a[11], b[11];
		day_str(s, a);
		day_str(e, b);
		jl_jw_keyc(w, "window");
		jl_jw_arr_begin(w);
		jl_jw_strc(w, a);
		jl_jw_strc(w, b);
		jl_jw_arr_end(w);
		jl_jw_keyc(w, "referenceDate");
		jl_jw_strc(w, b);
		jl_jw_keyc(w, "ci");
		jl_jw_strc(w, ind->method == JL_METHOD_LIFE_TABLE ? "chiang" : ind->method == JL_METHOD_NCD ? "none"
			      : ind->poisson ? "poisson-exact" : "wilson");
	}
	if (ind->num.fr) {
		jl_jw_keyc(w, "rule");
		jl_jw_strc(w, ind->num.fr->id);
		jl_jw_keyc(w, "ruleVersion");
		jl_jw_strc(w, ind->num.fr->version);
	}
	result_fields(w, &r, true);
	if (r.aggr) {
		jl_jw_keyc(w, "report");
		char ref[80];
		snprintf(ref, sizeof ref, "MeasureReport/%s", r.aggr->id);
		jl_jw_strc(w, ref);
	}
	if (ind->method == JL_METHOD_AGGREGATE) {
		jl_jw_obj_end(w);
		return;
	}
	jl_jw_keyc(w, "bySex");
	jl_jw_obj_begin(w);
	for (int s = 1; s <= 2; s++) {
		jl_result_t rs;
		jl_engine_result(c, i, node, s, -1, &rs);
		jl_jw_keyc(w, s == 1 ? "male" : "female");
		jl_jw_obj_begin(w);
		result_fields(w, &rs, false);
		jl_jw_obj_end(w);
	}
	jl_jw_obj_end(w);
	if (ind->method == JL_METHOD_COUNT) {
		jl_jw_keyc(w, "byAge");
		jl_jw_obj_begin(w);
		for (uint32_t b = 0; b < c->nb; b++) {
			jl_result_t rb;
			jl_engine_result(c, i, node, 0, (int)b, &rb);
			char lab[16];
			band_label(c->cat, b, lab, sizeof lab);
			jl_jw_keyc(w, lab);
			jl_jw_obj_begin(w);
			result_fields(w, &rb, false);
			jl_jw_obj_end(w);
		}
		jl_jw_obj_end(w);
	}
	if (nd->nchild && nd->level < JL_REG_VILLAGE) {
		jl_jw_keyc(w, "subRegions");
		jl_jw_arr_begin(w);
		for (uint32_t k = nd->child0; k < nd->child0 + nd->nchild; k++) {
			jl_result_t rc;
			jl_engine_result(c, i, k, 0, -1, &rc);
			jl_jw_obj_begin(w);
			jl_jw_keyc(w, "code");
			jl_jw_strc(w, c->reg->nodes[k].code);
			jl_jw_keyc(w, "name");
			jl_jw_strc(w, c->reg->nodes[k].name);
			result_fields(w, &rc, true);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
	}
	jl_jw_obj_end(w);
}

void jl_engine_json(const jl_cube_t *c, uint32_t node, const char *only, jl_jw_t *w)
{
	const jl_region_node_t *nd = &c->reg->nodes[node];
	static const char *const levels[] = {"", "province", "prefecture", "county", "township", "village"};
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "region");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "code");
	jl_jw_strc(w, nd->code);
	jl_jw_keyc(w, "name");
	jl_jw_strc(w, nd->name);
	jl_jw_keyc(w, "level");
	jl_jw_strc(w, levels[nd->level]);
	jl_jw_keyc(w, "codeVersion");
	jl_jw_strc(w, c->reg->version);
	jl_jw_keyc(w, "institutions");
	jl_jw_int(w, c->f->inst[node]);
	jl_jw_obj_end(w);
	jl_jw_keyc(w, "year");
	jl_jw_int(w, c->year);
	jl_jw_keyc(w, "catalogVersion");
	jl_jw_strc(w, c->cat->version);
	char ts[32];
	jl_time_fmt_instant(c->snapshot_us, ts);
	jl_jw_keyc(w, "dataAsOf");
	jl_jw_strc(w, c->snapshot_us ? ts : "");
	jl_time_fmt_instant(c->computed_us, ts);
	jl_jw_keyc(w, "computed");
	jl_jw_strc(w, ts);
	jl_jw_keyc(w, "indicators");
	jl_jw_arr_begin(w);
	for (uint32_t i = 0; i < c->cat->ninds; i++)
		if (!only || !strcmp(only, c->cat->inds[i].id))
			one_indicator(c, i, node, w);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
}
