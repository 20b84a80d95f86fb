/*
 * person — households and residents: where they live, who they are (age,
 * sex, ethnicity, names, citizen ID, phone, registration status), their
 * Patient resource and the duplicate Patient records other institutions
 * hold for them, with the error model of ../shared/standards/empi.md §10.
 */
#include "gen/person.h"

#include <stdio.h>
#include <string.h>

#include "gen/ids.h"

static const char *const marital_names[] = {[10] = "未婚", [20] = "已婚", [30] = "丧偶", [40] = "离婚"};
static const char marital_v3[] = {[10] = 'S', [20] = 'M', [30] = 'W', [40] = 'D'};

static const struct {
	int code;
	const char *name;
} relations[] = {{2, "户主"},   {11, "夫"},   {12, "妻"},   {20, "子"},   {30, "女"}, {41, "孙子"},
		 {42, "孙女"}, {51, "父亲"}, {52, "母亲"}, {86, "儿媳"}, {99, "其他"}};

static const char *relation_name(int code)
{
	for (size_t i = 0; i < sizeof relations / sizeof *relations; i++)
		if (relations[i].code == code)
			return relations[i].name;
	return "其他";
}

int jl_person_age(const jl_person_t *p, int day)
{
	jl_ymd_t b = jl_ymd(p->birth), t = jl_ymd(day);
	int a = t.y - b.y;
	if (t.m < b.m || (t.m == b.m && t.d < b.d))
		a--;
	return a;
}

void jl_person_span(const jl_run_t *r, const jl_person_t *p, int *start, int *end)
{
	int s = r->day0, e = r->day1;
	if (p->birth > s)
		s = p->birth;
	if (p->move_in > s)
		s = p->move_in;
	if (p->move_out && p->move_out < e)
		e = p->move_out;
	if (p->death && p->death < e)
		e = p->death;
	if (p->status == ST_AWAY)
		e = s - 1; /* not in the region */
	*start = s;
	*end = e;
}

/* --- citizen-ID sequence numbers ---------------------------------------- */

static uint16_t *seq_slot(jl_run_t *r, uint64_t key)
{
	if ((r->seq_n + 1) * 2 > r->seq_cap) {
		size_t nc = r->seq_cap ? r->seq_cap * 2 : 1 << 16;
		uint64_t *nk = jl_calloc(JL_MEM_MISC, nc, sizeof *nk);
		uint16_t *nv = jl_calloc(JL_MEM_MISC, nc, sizeof *nv);
		if (!nk || !nv) {
			jl_free(JL_MEM_MISC, nk);
			jl_free(JL_MEM_MISC, nv);
			return NULL;
		}
		for (size_t i = 0; i < r->seq_cap; i++)
			if (r->seq_keys[i]) {
				size_t h = jl_rng_mix(r->seq_keys[i]) & (nc - 1);
				while (nk[h])
					h = (h + 1) & (nc - 1);
				nk[h] = r->seq_keys[i];
				nv[h] = r->seq_vals[i];
			}
		jl_free(JL_MEM_MISC, r->seq_keys);
		jl_free(JL_MEM_MISC, r->seq_vals);
		r->seq_keys = nk;
		r->seq_vals = nv;
		r->seq_cap = nc;
	}
	size_t h = jl_rng_mix(key) & (r->seq_cap - 1);
	while (r->seq_keys[h] && r->seq_keys[h] != key)
		h = (h + 1) & (r->seq_cap - 1);
	if (!r->seq_keys[h]) {
		r->seq_keys[h] = key;
		r->seq_n++;
	}
	return &r->seq_vals[h];
}

static void make_cnid(jl_run_t *r, jl_person_t *p)
{
	uint64_t key = (uint64_t)p->reg_code * 200000ULL + (uint64_t)(p->birth + 50000) * 2 + (p->sex == 2);
	uint16_t *slot = seq_slot(r, key);
	if (!slot) {
		r->rc = JL_ENOMEM;
		return;
	}
	unsigned k = (*slot)++;
	unsigned base = (unsigned)(jl_rng_mix(key) % 100) * 2;
	unsigned n = (base + 2 * k + (p->sex == 1 ? 1 : 2)) % 1000;
	jl_ymd_t b = jl_ymd(p->birth);
	char s[20];
	snprintf(s, sizeof s, "%06u%04d%02d%02d%03u", p->reg_code, b.y, b.m, b.d, n);
	s[17] = jl_cnid_check(s);
	s[18] = 0;
	memcpy(p->cnid, s, 19);
}

static void make_phone(jl_rng_t *g, char *out)
{
	static const int prefixes[] = {130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 157,
				       158, 159, 177, 180, 181, 182, 183, 187, 188, 189, 199};
	int pre = prefixes[jl_rng_below(g, sizeof prefixes / sizeof *prefixes)];
	snprintf(out, 12, "%d%08u", pre, jl_rng_below(g, 100000000));
}

static int era_of(int birth_year)
{
	return birth_year < 1960 ? 0 : birth_year < 1980 ? 1 : birth_year < 2000 ? 2 : 3;
}

/* --- Patient ------------------------------------------------------------ */

static void ext_coding(jl_jw_t *w, const char *url, const char *sys, const char *code, const char *display)
{
	jl_jw_obj_begin(w);
	fw_key_str(w, "url", url);
	jl_jw_keyc(w, "valueCoding");
	fw_coding(w, sys, code, display);
	jl_jw_obj_end(w);
}

static const char *eth_name(const jl_run_t *r, int code)
{
	for (int i = 0; i < r->p->neth_names; i++)
		if (r->p->eth_code[i] == code)
			return r->p->eth_name[i];
	return NULL;
}

static const jl_geo_natcounty_t *nat_county(const jl_run_t *r, uint32_t code)
{
	uint32_t lo = 0, hi = r->geo.nnat;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (r->geo.nat[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->geo.nnat && r->geo.nat[lo].code == code ? &r->geo.nat[lo] : NULL;
}

static void county_address(jl_run_t *r, uint32_t code, const char *category)
{
	jl_jw_t *w = &r->w;
	const jl_geo_natcounty_t *c = nat_county(r, code);
	char cs[8];
	snprintf(cs, sizeof cs, "%06u", code);
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "extension");
	jl_jw_arr_begin(w);
	ext_coding(w, JL_CANON "/StructureDefinition/cn-division-code", JL_CANON "/CodeSystem/cn-division-gbt2260", cs,
		   NULL);
	ext_coding(w, JL_CANON "/StructureDefinition/cn-address-category", JL_CANON "/CodeSystem/cn-address-category",
		   category, NULL);
	jl_jw_arr_end(w);
	fw_key_str(w, "use", "home");
	if (c) {
		char text[256];
		snprintf(text, sizeof text, "%s%s%s", c->prov, c->pref, c->name);
		fw_key_str(w, "text", text);
		fw_key_str(w, "city", c->pref);
		fw_key_str(w, "district", c->name);
		fw_key_str(w, "state", c->prov);
	}
	fw_key_str(w, "country", "CN");
	jl_jw_obj_end(w);
}

static void house_no(const jl_person_t *p, char *out, size_t n)
{
	snprintf(out, n, "%u号", 1 + (unsigned)(jl_rng_mix((uint64_t)p->hh * 31 + 7) % 280));
}

static void emit_patient(jl_run_t *r, jl_person_t *p)
{
	jl_jw_t *w = jl_run_begin(r, "Patient", p->id);
	jl_jw_keyc(w, "extension");
	jl_jw_arr_begin(w);
	char eth[4];
	snprintf(eth, sizeof eth, "%02d", p->eth);
	ext_coding(w, JL_CANON "/StructureDefinition/cn-ethnicity", "urn:oid:2.16.156.10011.2.3.3.3", eth,
		   eth_name(r, p->eth));
	ext_coding(w, JL_CANON "/StructureDefinition/cn-gender", "urn:oid:2.16.156.10011.2.3.3.4",
		   p->sex == 1 ? "1" : "2", p->sex == 1 ? "男性" : "女性");
	jl_jw_obj_begin(w);
	fw_key_str(w, "url", JL_CANON "/StructureDefinition/cn-household");
	jl_jw_keyc(w, "valueIdentifier");
	char hh[32];
	snprintf(hh, sizeof hh, "H%06u%08lld", r->geo.counties[p->county].code, (long long)p->hh);
	fw_ident(w, NULL, JL_CANON "/NamingSystem/household", hh);
	jl_jw_obj_end(w);
	char rel[4];
	snprintf(rel, sizeof rel, "%02d", p->rel);
	ext_coding(w, JL_CANON "/StructureDefinition/cn-household-relation", JL_CANON "/CodeSystem/gbt4761", rel,
		   relation_name(p->rel));
	static const char *const st_code[] = {"registered-resident", "resident-not-registered", "registered-away"};
	static const char *const st_name[] = {"户籍常住", "常住非户籍", "户籍外出"};
	ext_coding(w, JL_CANON "/StructureDefinition/cn-residence-status", JL_CANON "/CodeSystem/cn-residence-status",
		   st_code[p->status], st_name[p->status]);
	jl_jw_arr_end(w);

	jl_jw_keyc(w, "identifier");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_key_str(w, "use", "official");
	fw_cc(w, "type", "urn:oid:2.16.156.10011.2.3.1.1", "01", "居民身份证");
	fw_key_str(w, "system", SYS_CNID);
	fw_key_str(w, "value", p->cnid);
	jl_jw_obj_end(w);
	if (p->ehr[0])
		fw_ident(w, "secondary", SYS_EHR, p->ehr);
	jl_jw_arr_end(w);
	jl_jw_keyc(w, "active");
	jl_jw_bool(w, true);
	jl_jw_keyc(w, "name");
	jl_jw_arr_begin(w);
	jl_jw_obj_begin(w);
	fw_key_str(w, "use", "official");
	char full[40];
	snprintf(full, sizeof full, "%s%s", p->sur, p->given);
	fw_key_str(w, "text", full);
	fw_key_str(w, "family", p->sur);
	jl_jw_keyc(w, "given");
	jl_jw_arr_begin(w);
	jl_jw_strc(w, p->given);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	jl_jw_arr_end(w);
	if (p->phone[0]) {
		jl_jw_keyc(w, "telecom");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_key_str(w, "system", "phone");
		fw_key_str(w, "value", p->phone);
		fw_key_str(w, "use", "mobile");
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	fw_key_str(w, "gender", p->sex == 1 ? "male" : "female");
	fw_key_date(w, "birthDate", p->birth);
	if (p->death)
		fw_key_dt(w, "deceasedDateTime", p->death, 60 * (int)(jl_rng_mix((uint64_t)p->idx) % 24));
	jl_jw_keyc(w, "address");
	jl_jw_arr_begin(w);
	char no[16];
	house_no(p, no, sizeof no);
	if (p->status != ST_AWAY) {
		/* 现住址, with the move-in and move-out dates as its period; two after a move within the region. */
		if (p->moved) {
			jl_region_address(r, p->village, "current", no, p->move_in, p->moved - 1);
			char no2[16];
			snprintf(no2, sizeof no2, "%u号", 1 + (unsigned)(jl_rng_mix((uint64_t)p->hh * 37 + 11) % 280));
			jl_region_address(r, p->village2, "current", no2, p->moved, p->move_out);
		} else
			jl_region_address(r, p->village, "current", no, p->move_in, p->move_out);
	}
	if (p->status == ST_MIGRANT_IN)
		county_address(r, p->reg_code, "registered");
	else
		jl_region_address(r, p->village, "registered", no, 0, 0);
	jl_jw_arr_end(w);
	char ms[4];
	snprintf(ms, sizeof ms, "%d", p->marital);
	jl_jw_keyc(w, "maritalStatus");
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "coding");
	jl_jw_arr_begin(w);
	fw_coding(w, "urn:oid:2.16.156.10011.2.3.3.5", ms, marital_names[p->marital]);
	char v3[2] = {marital_v3[p->marital], 0};
	fw_coding(w, "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", v3, NULL);
	jl_jw_arr_end(w);
	jl_jw_obj_end(w);
	if (p->doctor >= 0) {
		jl_jw_keyc(w, "generalPractitioner");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		char ref[48];
		snprintf(ref, sizeof ref, "Practitioner/%s", r->pracs[p->doctor].id);
		fw_key_str(w, "reference", ref);
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
	}
	if (p->status != ST_AWAY)
		fw_ref(w, "managingOrganization", "Organization", r->orgs[p->hc].id);
	jl_jw_obj_end(w);
	jl_run_emit(r, JL_GEN_PATIENT);
}

/* --- duplicates ----------------------------------------------------------- */

typedef struct chars {
	int n;
	const char *p[8];
	size_t len[8];
} chars_t;

static void split_utf8(const char *s, chars_t *c)
{
	c->n = 0;
	while (*s && c->n < 8) {
		size_t k = 1;
		unsigned char b = (unsigned char)*s;
		if (b >= 0xF0)
			k = 4;
		else if (b >= 0xE0)
			k = 3;
		else if (b >= 0xC0)
			k = 2;
		c->p[c->n] = s;
		c->len[c->n++] = k;
		s += k;
	}
}

/* A different member of the first set holding character (p, n), or NULL. */
static const char *swap_in_sets(const jl_gen_charset_t *sets, int nsets, const char *p, size_t n, jl_rng_t *g,
				bool only_first_to_second)
{
	for (int i = 0; i < nsets; i++) {
		const jl_gen_charset_t *s = &sets[i];
		for (int j = 0; j < s->n; j++) {
			if (strlen(s->ch[j]) != n || memcmp(s->ch[j], p, n))
				continue;
			if (only_first_to_second)
				return j == 0 ? s->ch[1] : NULL;
			int k = (int)jl_rng_below(g, (uint32_t)(s->n - 1));
			return s->ch[k >= j ? k + 1 : k];
		}
	}
	return NULL;
}

/* Replaces one character of `name` (UTF-8) from the sets; returns whether it changed. */
static bool char_error(const jl_gen_charset_t *sets, int nsets, char *name, size_t cap, jl_rng_t *g, bool trad)
{
	chars_t c;
	split_utf8(name, &c);
	if (!c.n)
		return false;
	int start = (int)jl_rng_below(g, (uint32_t)c.n);
	for (int t = 0; t < c.n; t++) {
		int i = (start + t) % c.n;
		const char *rep = swap_in_sets(sets, nsets, c.p[i], c.len[i], g, trad);
		if (!rep)
			continue;
		char out[64];
		size_t off = (size_t)(c.p[i] - name);
		int n = snprintf(out, sizeof out, "%.*s%s%s", (int)off, name, rep, c.p[i] + c.len[i]);
		if (n <= 0 || (size_t)n >= cap)
			return false;
		memcpy(name, out, (size_t)n + 1);
		return true;
	}
	return false;
}

static void pinyin_cap(const char *py, char *out, size_t n, bool upper)
{
	size_t k = 0;
	bool start = true;
	for (; *py && k + 1 < n; py++) {
		char ch = *py;
		if (ch == 'v')
			ch = 'u'; /* lv → lu as ID-card pinyin writes it (ü without diacritic) */
		if ((start || upper) && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 32);
		out[k++] = ch;
		start = ch == ' ';
	}
	out[k] = 0;
}

static void emit_duplicates(jl_run_t *r, jl_person_t *p)
{
	const jl_gen_params_t *pa = r->p;
	jl_rng_t g = jl_rng_key(r->seed, JL_RNG_DUP, (uint64_t)p->idx * 8 + (uint64_t)p->birthno);
	int n = jl_rng_poisson(&g, pa->dup_mean);
	if (n > 4)
		n = 4;
	static const int kinds_[] = {OK_COUNTY_HOSP, OK_PREF_HOSP, OK_TOWN_HC, OK_CLINIC, OK_COUNTY_TCM, OK_COUNTY_MCH};
	static const double cum[] = {0.35, 0.55, 0.70, 0.85, 0.95, 1.0};
	for (int k = 0; k < n && !r->rc; k++) {
		int kind = kinds_[jl_rng_pick_cum(&g, cum, 6)];
		int32_t o;
		if (kind == OK_TOWN_HC)
			o = p->hc;
		else if (kind == OK_PREF_HOSP)
			o = r->pref[0] + (int32_t)jl_rng_below(&g, 2);
		else
			o = jl_region_pick(r, p->county, kind, jl_rng_below(&g, 1000));
		if (o < 0)
			o = r->county_org[p->county][0];
		char id[64];
		snprintf(id, sizeof id, "%s-m%d", p->id, k + 1);
		char sur[32], given[32], errs[160] = "";
		snprintf(sur, sizeof sur, "%s", p->sur);
		snprintf(given, sizeof given, "%s", p->given);
		bool pinyin = false, swap = false;
		int birth = p->birth;
		const char *sex = p->sex == 1 ? "male" : "female";
		char cnid[20], phone[12];
		snprintf(cnid, sizeof cnid, "%s", p->cnid);
		snprintf(phone, sizeof phone, "%s", p->phone);
#define ERR(tag) do { size_t l_ = strlen(errs); snprintf(errs + l_, sizeof errs - l_, "%s%s", l_ ? "," : "", tag); } while (0)
		/* A newborn's first hospital record often predates its name and ID: "<mother>之子/之女". */
		bool placeholder = p->mother && k == 0 && jl_rng_bern(&g, 0.3);
		if (placeholder) {
			snprintf(sur, sizeof sur, "%s", p->mother->sur);
			snprintf(given, sizeof given, "%s%s", p->mother->given, p->sex == 1 ? "之子" : "之女");
			ERR("placeholder-name");
		} else if (jl_rng_bern(&g, pa->e_homophone) &&
		    (char_error(pa->homo, pa->nhomo, given, sizeof given, &g, false) ||
		     char_error(pa->homo, pa->nhomo, sur, sizeof sur, &g, false)))
			ERR("homophone");
		if (jl_rng_bern(&g, pa->e_shape) && (char_error(pa->shape, pa->nshape, given, sizeof given, &g, false) ||
						    char_error(pa->shape, pa->nshape, sur, sizeof sur, &g, false)))
			ERR("shape");
		if (jl_rng_bern(&g, pa->e_trad)) {
			bool a = char_error(pa->trad, pa->ntrad, sur, sizeof sur, &g, true);
			bool b = char_error(pa->trad, pa->ntrad, given, sizeof given, &g, true);
			if (a || b)
				ERR("traditional");
		}
		if (placeholder) {
		} else if (jl_rng_bern(&g, pa->e_pinyin)) {
			pinyin = true;
			swap = jl_rng_bern(&g, 0.3);
			ERR(swap ? "pinyin-swapped" : "pinyin");
		} else if (jl_rng_bern(&g, pa->e_swap)) {
			char t[32];
			snprintf(t, sizeof t, "%s", sur);
			snprintf(sur, sizeof sur, "%s", given);
			snprintf(given, sizeof given, "%s", t);
			ERR("name-swapped");
		}
		if (jl_rng_bern(&g, pa->e_lunar)) {
			birth -= jl_rng_range(&g, 20, 50);
			ERR("lunar-birthday");
		} else if (jl_rng_bern(&g, pa->e_daymonth)) {
			jl_ymd_t b = jl_ymd(birth);
			if (b.d <= 12 && b.d != b.m) {
				birth = jl_day(b.y, b.d, b.m);
				ERR("day-month-swapped");
			}
		}
		bool has_id = true;
		if (placeholder || jl_rng_bern(&g, pa->e_id_missing)) {
			has_id = false;
			ERR("id-missing");
		} else if (jl_rng_bern(&g, pa->e_id_typo)) {
			int pos = jl_rng_range(&g, 6, 16);
			char old = cnid[pos];
			do
				cnid[pos] = (char)('0' + jl_rng_below(&g, 10));
			while (cnid[pos] == old);
			if (jl_cnid_valid(cnid)) { /* keep the typo detectable: make the check character wrong */
				cnid[17] = cnid[17] == '0' ? '1' : '0';
			}
			ERR("id-typo");
		}
		if (!phone[0] || jl_rng_bern(&g, pa->e_phone_missing)) {
			phone[0] = 0;
			ERR("phone-missing");
		} else if (jl_rng_bern(&g, pa->e_phone_changed)) {
			make_phone(&g, phone);
			ERR("phone-changed");
		}
		if (jl_rng_bern(&g, pa->e_sex_missing)) {
			sex = NULL;
			ERR("sex-missing");
		}
		/* Facility MRN: a per-facility serial (unique within the facility). */
		char mrn[24];
		snprintf(mrn, sizeof mrn, "%010u", 100000 + ++r->org_mrn[o]);
		jl_jw_t *w = jl_run_begin(r, "Patient", id);
		jl_jw_keyc(w, "identifier");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_key_str(w, "use", "usual");
		fw_cc(w, "type", "http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "病案号");
		char sys[128];
		snprintf(sys, sizeof sys, JL_CANON "/NamingSystem/facility/%s/patient-id", r->orgs[o].uscc);
		fw_key_str(w, "system", sys);
		fw_key_str(w, "value", mrn);
		jl_jw_obj_end(w);
		if (has_id) {
			jl_jw_obj_begin(w);
			fw_key_str(w, "use", "official");
			fw_cc(w, "type", "urn:oid:2.16.156.10011.2.3.1.1", "01", "居民身份证");
			fw_key_str(w, "system", SYS_CNID);
			fw_key_str(w, "value", cnid);
			jl_jw_obj_end(w);
		}
		jl_jw_arr_end(w);
		jl_jw_keyc(w, "active");
		jl_jw_bool(w, true);
		jl_jw_keyc(w, "name");
		jl_jw_arr_begin(w);
		jl_jw_obj_begin(w);
		fw_key_str(w, "use", "official");
		if (pinyin) {
			/* Pinyin from the original characters: "DUAN LIHUA" or "LIHUA DUAN". */
			char up[64], fam[32], giv[48];
			pinyin_cap(p->py, up, sizeof up, true);
			const char *sp = strchr(up, ' ');
			size_t fl = sp ? (size_t)(sp - up) : strlen(up);
			snprintf(fam, sizeof fam, "%.*s", (int)fl, up);
			snprintf(giv, sizeof giv, "%s", sp ? sp + 1 : "");
			char text[96];
			snprintf(text, sizeof text, "%s %s", swap ? giv : fam, swap ? fam : giv);
			fw_key_str(w, "text", text);
			fw_key_str(w, "family", swap ? giv : fam);
			jl_jw_keyc(w, "given");
			jl_jw_arr_begin(w);
			jl_jw_strc(w, swap ? fam : giv);
			jl_jw_arr_end(w);
		} else {
			char text[64];
			snprintf(text, sizeof text, "%s%s", sur, given);
			fw_key_str(w, "text", text);
			fw_key_str(w, "family", sur);
			jl_jw_keyc(w, "given");
			jl_jw_arr_begin(w);
			jl_jw_strc(w, given);
			jl_jw_arr_end(w);
		}
		jl_jw_obj_end(w);
		jl_jw_arr_end(w);
		if (phone[0]) {
			jl_jw_keyc(w, "telecom");
			jl_jw_arr_begin(w);
			jl_jw_obj_begin(w);
			fw_key_str(w, "system", "phone");
			fw_key_str(w, "value", phone);
			fw_key_str(w, "use", "mobile");
			jl_jw_obj_end(w);
			jl_jw_arr_end(w);
		}
		if (sex)
			fw_key_str(w, "gender", sex);
		fw_key_date(w, "birthDate", birth);
		if (p->status != ST_AWAY) {
			/* After a move, some facilities still hold the old address. */
			bool old_addr = p->moved && jl_rng_bern(&g, 0.5);
			if (old_addr)
				ERR("address-old");
			jl_jw_keyc(w, "address");
			jl_jw_arr_begin(w);
			jl_region_address(r, old_addr || !p->moved ? p->village : p->village2, "current", NULL, 0, 0);
			jl_jw_arr_end(w);
		}
		fw_ref(w, "managingOrganization", "Organization", r->orgs[o].id);
		jl_jw_obj_end(w);
		jl_run_emit(r, JL_GEN_PATIENT);
		r->st->duplicates++;
		jl_buf_clear(&r->line);
		jl_buf_printf(&r->line, "%s\t%s\t%s\t%s", id, p->id, r->orgs[o].id, errs[0] ? errs : "-");
		jl_run_truth(r, JL_GEN_TRUTH_DUPLICATES);
#undef ERR
	}
}

/* --- households ----------------------------------------------------------- */

typedef struct member {
	int age, sex, rel, marital;
} member_t;

static int pick_eth(jl_rng_t *g, const jl_gen_mix_t *m)
{
	double x = jl_rng_u(g), tot = 0;
	for (int i = 0; i < m->n; i++)
		tot += m->share[i];
	x *= tot;
	for (int i = 0; i < m->n; i++) {
		if (x < m->share[i])
			return m->code[i];
		x -= m->share[i];
	}
	return m->code[0];
}

static int band_age(jl_rng_t *g, const jl_gen_params_t *pa, int lo_band, const double *mult)
{
	double cum[JL_GEN_AGE_BANDS], t = 0;
	for (int i = 0; i < JL_GEN_AGE_BANDS; i++) {
		t += i >= lo_band ? pa->age_share[i] * (mult ? mult[i] : 1) : 0;
		cum[i] = t;
	}
	int b = (int)jl_rng_pick_cum(g, cum, JL_GEN_AGE_BANDS);
	return b * 5 + (int)jl_rng_below(g, b == JL_GEN_AGE_BANDS - 1 ? 15 : 5);
}

static int clamp_age(int a)
{
	return a < 0 ? 0 : a > 104 ? 104 : a;
}

/* Household composition: head, spouse, children, the head's parents, or an elder's adult child's family. */
static int household_members(jl_rng_t *g, const jl_gen_params_t *pa, member_t *m)
{
	/* Headship by age band (tuned so the members' ages follow the configured pyramid). */
	static const double headship[JL_GEN_AGE_BANDS] = {0, 0, 0, 0, 0.10, 0.42, 0.62, 0.62, 0.62, 0.72,
							   0.74, 0.70, 0.64, 0.57, 0.57, 0.70, 0.78, 0.85};
	int n = 0;
	int a = band_age(g, pa, 4, headship);
	double psp = a < 25 ? 0.35 : a < 70 ? 0.86 : a < 80 ? 0.62 : 0.42;
	bool spouse = jl_rng_bern(g, psp);
	/* Couples: the husband is usually recorded as head; people living alone are mostly young men
	 * and old women (widows). */
	int hsex = jl_rng_bern(g, spouse ? 0.85 : a >= 60 ? 0.32 : 0.62) ? 1 : 2;
	m[n++] = (member_t){a, hsex, 2, 10};
	if (spouse) {
		int sa = clamp_age(a + (hsex == 1 ? -2 : 2) + (int)(jl_rng_normal(g) * 3));
		if (sa < 18)
			sa = 18;
		m[n++] = (member_t){sa, 3 - hsex, hsex == 1 ? 12 : 11, 20};
		m[0].marital = 20;
	} else if (a >= 60)
		m[0].marital = jl_rng_bern(g, 0.75) ? 30 : 40;
	else if (a >= 30)
		m[0].marital = jl_rng_bern(g, 0.5) ? 40 : 10;
	if (a >= 22 && a <= 64) {
		double mean = a < 30 ? 1.0 : a < 40 ? 1.55 : a < 50 ? 1.3 : a < 60 ? 0.5 : 0.2;
		int k = jl_rng_poisson(g, mean);
		for (int i = 0; i < k && n < 8; i++) {
			int ca = a - jl_rng_range(g, 21, 36);
			if (ca < 0 || ca > 30)
				continue;
			int s = jl_rng_bern(g, 0.53) ? 1 : 2;
			m[n++] = (member_t){ca, s, s == 1 ? 20 : 30, ca >= 25 && jl_rng_bern(g, 0.4) ? 20 : 10};
		}
	}
	if (a >= 25 && a <= 55 && jl_rng_bern(g, 0.15)) {
		int k = jl_rng_bern(g, 0.5) ? 2 : 1;
		int pa0 = clamp_age(a + jl_rng_range(g, 22, 34));
		for (int i = 0; i < k && n < 8; i++) {
			int s = k == 2 ? 1 + i : (jl_rng_bern(g, 0.65) ? 2 : 1);
			m[n++] = (member_t){clamp_age(pa0 + (s == 1 ? 2 : 0)), s, s == 1 ? 51 : 52, k == 2 ? 20 : 30};
		}
	}
	if (a >= 55 && jl_rng_bern(g, 0.25) && n < 6) {
		int ca = a - jl_rng_range(g, 24, 34);
		int s = jl_rng_bern(g, 0.7) ? 1 : 2;
		m[n++] = (member_t){ca, s, s == 1 ? 20 : 30, 20};
		if (jl_rng_bern(g, 0.85))
			m[n++] = (member_t){clamp_age(ca + (s == 1 ? -2 : 2)), 3 - s, s == 1 ? 86 : 99, 20};
		int k = jl_rng_poisson(g, 1.6);
		for (int i = 0; i < k && n < 8; i++) {
			int ga = ca - jl_rng_range(g, 22, 34);
			if (ga < 0)
				continue;
			int gs = jl_rng_bern(g, 0.53) ? 1 : 2;
			m[n++] = (member_t){ga, gs, gs == 1 ? 41 : 42, 10};
		}
	}
	return n;
}

static void person_common(jl_run_t *r, jl_person_t *p, jl_rng_t *g)
{
	const jl_geo_village_t *vl = &r->geo.villages[p->village];
	p->hc = r->town_hc[vl->town];
	p->doctor = -1;
	make_cnid(r, p);
	p->ehr[0] = 0;
	if (p->status != ST_AWAY) {
		uint32_t serial = ++r->vill_serial[p->village];
		snprintf(p->ehr, sizeof p->ehr, "%012llu%05u", (unsigned long long)vl->code, serial % 100000);
	}
	jl_ymd_t b = jl_ymd(p->birth);
	jl_region_name(r, g, p->eth, p->sex, era_of(b.y), p->sur, sizeof p->sur, p->given, sizeof p->given, p->py,
		       sizeof p->py);
}

/* Generates, plans and writes one person (and, recursively, the children born to her in the window). */
static void person_out(jl_run_t *r, jl_person_t *p)
{
	jl_health_plan(r, p);
	emit_patient(r, p);
	emit_duplicates(r, p);
	jl_health_emit(r, p);
	r->st->residents++;
	for (int b = 0; b < p->nbirths && !r->rc; b++) {
		jl_person_t c;
		memset(&c, 0, sizeof c);
		jl_rng_t g = jl_rng_key(r->seed, JL_RNG_HOUSEHOLD, ((uint64_t)p->idx << 3) + 1 + (uint64_t)b);
		c.idx = p->idx;
		c.birthno = b + 1;
		snprintf(c.id, sizeof c.id, "%.40s-b%d", p->id, (b + 1) % 10);
		c.sex = jl_rng_bern(&g, 0.53) ? 1 : 2;
		c.birth = p->births[b];
		c.eth = p->eth;
		c.village = p->village;
		c.county = p->county;
		if (p->moved && c.birth < p->moved) {
			c.moved = p->moved;
			c.village2 = p->village2;
		} else if (p->moved) {
			c.village = p->village2;
			c.county = r->geo.towns[r->geo.villages[c.village].town].county;
		}
		c.reg_code = p->status == ST_MIGRANT_IN ? p->reg_code : r->geo.counties[p->county].code;
		c.status = p->status == ST_MIGRANT_IN ? ST_MIGRANT_IN : ST_RESIDENT;
		c.move_out = p->move_out;
		c.marital = 10;
		c.rel = p->rel == 2 || p->rel == 11 || p->rel == 12 ? (c.sex == 1 ? 20 : 30) : (c.sex == 1 ? 41 : 42);
		c.hh = p->hh;
		snprintf(c.phone, sizeof c.phone, "%s", p->phone);
		c.mother = p;
		person_common(r, &c, &g);
		if (p->child_sur[0]) {
			memcpy(c.sur, p->child_sur, sizeof c.sur);
			const char *sp = strchr(c.py, ' ');
			char py[64];
			snprintf(py, sizeof py, "%s%s", p->child_py, sp ? sp : " ");
			memcpy(c.py, py, sizeof py);
		}
		r->st->births++;
		person_out(r, &c);
	}
}

void jl_people_household(jl_run_t *r, int64_t hh, int64_t *next_idx, int64_t limit)
{
	const jl_gen_params_t *pa = r->p;
	const jl_geo_t *geo = &r->geo;
	jl_rng_t g = jl_rng_key(r->seed, JL_RNG_HOUSEHOLD, (uint64_t)hh << 3);
	uint32_t c = jl_rng_pick_cum(&g, r->county_cum, geo->ncounties);
	const jl_geo_county_t *cy = &geo->counties[c];
	uint32_t t = cy->town0 + jl_rng_pick_cum(&g, r->town_cum + cy->town0, cy->ntown);
	const jl_geo_town_t *tw = &geo->towns[t];
	uint32_t v = tw->vill0 + jl_rng_pick_cum(&g, r->vill_cum + tw->vill0, tw->nvill);
	int eth = pick_eth(&g, r->county_mix[c]);
	bool migrant = jl_rng_bern(&g, pa->migrant_in);
	uint32_t reg = cy->code;
	int move_in = 0;
	if (migrant) {
		/* From elsewhere in the province mostly, else anywhere in the country. */
		for (int tries = 0; tries < 50; tries++) {
			const jl_geo_natcounty_t *nc = &geo->nat[jl_rng_below(&g, geo->nnat)];
			bool same_prov = nc->code / 10000 == geo->pref_code / 10000;
			bool same_pref = nc->code / 100 == geo->pref_code / 100;
			if (same_pref || (tries < 40 && !same_prov && jl_rng_bern(&g, 0.7)))
				continue;
			reg = nc->code;
			break;
		}
		if (jl_rng_bern(&g, 0.45))
			move_in = r->day0 + (int)jl_rng_below(&g, (uint32_t)(r->day1 - r->day0 - 30));
	}
	member_t m[8];
	int n = household_members(&g, pa, m);
	/* A move of the whole household to another village of the prefecture (mostly the same county). */
	int moved = 0;
	uint32_t v2 = v;
	for (int y = jl_ymd(r->day0).y; y <= jl_ymd(r->day1).y && !moved; y++)
		if (jl_rng_bern(&g, pa->move_within)) {
			moved = jl_day(y, 1, 1) + (int)jl_rng_below(&g, 365);
			uint32_t c2 = jl_rng_bern(&g, 0.6) ? c : jl_rng_pick_cum(&g, r->county_cum, geo->ncounties);
			const jl_geo_county_t *cy2 = &geo->counties[c2];
			uint32_t t2 = cy2->town0 + jl_rng_pick_cum(&g, r->town_cum + cy2->town0, cy2->ntown);
			v2 = geo->towns[t2].vill0 + jl_rng_pick_cum(&g, r->vill_cum + geo->towns[t2].vill0, geo->towns[t2].nvill);
			if (v2 == v || moved > r->day1 || moved <= move_in)
				moved = 0;
		}
	char hphone[12];
	make_phone(&g, hphone);
	int head_sur_idx = -1;
	(void)head_sur_idx;
	jl_person_t *ps = jl_calloc(JL_MEM_MISC, (size_t)n, sizeof *ps);
	if (!ps) {
		r->rc = JL_ENOMEM;
		return;
	}
	for (int i = 0; i < n && *next_idx < limit && !r->rc; i++) {
		jl_person_t *p = &ps[i];
		p->idx = (*next_idx)++;
		snprintf(p->id, sizeof p->id, "pat-%06u-%07lld", cy->code, (long long)p->idx);
		p->sex = m[i].sex;
		p->birth = r->day0 - m[i].age * 365 - (m[i].age / 4) - 1 - (int)jl_rng_below(&g, 365);
		p->eth = (m[i].rel == 11 || m[i].rel == 12 || m[i].rel == 86) && jl_rng_bern(&g, 0.2)
				 ? pick_eth(&g, r->county_mix[c])
				 : eth;
		p->village = v;
		p->county = c;
		p->reg_code = reg;
		p->status = migrant ? ST_MIGRANT_IN : ST_RESIDENT;
		if (!migrant && m[i].age >= 18 && m[i].age <= 50 && jl_rng_bern(&g, pa->migrant_out * 2.2))
			p->status = ST_AWAY;
		p->move_in = migrant ? move_in : 0;
		p->marital = m[i].marital;
		p->rel = m[i].rel;
		p->hh = hh;
		if (m[i].age >= 15) {
			if (i > 0 && jl_rng_bern(&g, 0.2))
				memcpy(p->phone, hphone, 12);
			else if (i == 0)
				memcpy(p->phone, hphone, 12);
			else if (jl_rng_bern(&g, 0.95))
				make_phone(&g, p->phone);
		} else
			memcpy(p->phone, hphone, 12);
		/* Moving out of the region during the window (adults). */
		if (m[i].age >= 18)
			for (int y = jl_ymd(r->day0).y; y <= jl_ymd(r->day1).y; y++)
				if (jl_rng_bern(&g, pa->move_rate)) {
					int d0 = jl_day(y, 1, 1), d1 = jl_day(y, 12, 31);
					p->move_out = d0 + (int)jl_rng_below(&g, (uint32_t)(d1 - d0 + 1));
					if (p->move_out <= p->move_in || p->move_out > r->day1)
						p->move_out = 0;
					break;
				}
		if (moved && p->status != ST_AWAY && (!p->move_out || p->move_out > moved)) {
			p->moved = moved;
			p->village2 = v2;
		}
		person_common(r, p, &g);
		/* Spouses share nothing by name; children take the head's (or the father's) surname. */
		if ((m[i].rel == 20 || m[i].rel == 30) && i > 0) {
			const jl_person_t *father = ps[0].sex == 1 ? &ps[0] : (n > 1 && ps[1].sex == 1 ? &ps[1] : &ps[0]);
			if (m[0].rel == 2 && father->sur[0]) {
				memcpy(p->sur, father->sur, sizeof p->sur);
				const char *sp = strchr(p->py, ' '), *fsp = strchr(father->py, ' ');
				if (sp && fsp) {
					char py[64];
					snprintf(py, sizeof py, "%.*s%s", (int)(fsp - father->py), father->py, sp);
					memcpy(p->py, py, sizeof py);
				}
			}
		}
	}
	int made = 0;
	while (made < n && ps[made].id[0])
		made++;
	for (int i = 0; i < made && !r->rc; i++) {
		jl_person_t *p = &ps[i];
		/* A woman's children take her husband's surname when he is in the household. */
		if (p->sex == 2) {
			const jl_person_t *h = NULL;
			if (m[i].rel == 2 || m[i].rel == 11 || m[i].rel == 12)
				h = i == 0 ? (made > 1 && m[1].rel == 11 ? &ps[1] : NULL) : &ps[0];
			else if (m[i].rel == 86)
				for (int j = 0; j < i && !h; j++)
					h = m[j].rel == 20 ? &ps[j] : NULL;
			if (h && h->sur[0] && h->sex == 1) {
				memcpy(p->child_sur, h->sur, sizeof p->child_sur);
				const char *sp = strchr(h->py, ' ');
				snprintf(p->child_py, sizeof p->child_py, "%.*s", sp ? (int)(sp - h->py) : 0, h->py);
			}
		}
		person_out(r, p);
	}
	jl_free(JL_MEM_MISC, ps);
}
