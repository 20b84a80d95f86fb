/*
 * gen — drives a run: parameters, divisions, region and institutions, then
 * households one after another until the requested number of residents,
 * then the outbreak ground truth. Every resource goes to the sink as soon
 * as it is written; nothing per resident is kept.
 */
#include "gen/gen.h"

#include <stdio.h>
#include <string.h>

#include "gen/person.h"

static const char *const rt_names[JL_GEN_NTYPES] = {
	"Organization", "Location", "Practitioner", "PractitionerRole", "CareTeam", "Patient", "EpisodeOfCare",
	"Encounter", "Condition", "Observation", "Immunization", "MedicationRequest", "Procedure",
};

const char *jl_gen_rt_name(jl_gen_rt t)
{
	return (unsigned)t < JL_GEN_NTYPES ? rt_names[t] : "?";
}

const char *jl_gen_truth_name(jl_gen_truth t)
{
	static const char *const n[JL_GEN_NTRUTH] = {"duplicates.tsv", "outbreaks.tsv", "outbreak_cases.tsv"};
	return (unsigned)t < JL_GEN_NTRUTH ? n[t] : "?";
}

const char *jl_gen_rate_name(int i)
{
	static const char *const n[JL_GEN_NRATES] = {"followup", "bp_control", "fpg_control", "smi_followup",
						      "elderly_check", "vaccine", "child_check"};
	return i >= 0 && i < JL_GEN_NRATES ? n[i] : "?";
}

void jl_run_emit(jl_run_t *r, jl_gen_rt type)
{
	if (r->rc)
		return;
	jl_rc rc = jl_buf_status(&r->buf);
	if (!rc)
		rc = r->sink->put(r->sink->arg, type, jl_buf_str(&r->buf));
	if (rc) {
		r->rc = rc;
		return;
	}
	if (!r->st->count[type])
		snprintf(r->st->example[type], sizeof r->st->example[type], "%s", r->cur_id);
	r->st->count[type]++;
	r->st->resources++;
}

void jl_run_truth(jl_run_t *r, jl_gen_truth file)
{
	if (r->rc)
		return;
	jl_rc rc = jl_buf_status(&r->line);
	if (!rc && r->sink->truth)
		rc = r->sink->truth(r->sink->arg, file, jl_buf_str(&r->line));
	if (rc)
		r->rc = rc;
}

jl_rc jl_gen_run(const jl_gen_cfg_t *cfg, const jl_gen_sink_t *sink, jl_gen_stats_t *st, jl_diag_t *d)
{
	memset(st, 0, sizeof *st);
	if (cfg->residents < 1 || cfg->residents > 100000000) {
		jl_diag_err(d, "invalid", "residents", "The number of residents must be 1 to 100,000,000");
		return JL_EINVAL;
	}
	if (cfg->year_from < 1950 || cfg->year_to > 2100 || cfg->year_from > cfg->year_to) {
		jl_diag_err(d, "invalid", "years", "Years must be a range within 1950-2100, first <= last");
		return JL_EINVAL;
	}
	if (cfg->region % 100 || cfg->region < 110000 || cfg->region > 829999 || (cfg->region / 100) % 100 == 0) {
		jl_diag_err(d, "invalid", "region",
			    "The region must be a prefecture-level GB/T 2260 code ending in 00 (e.g. 532900), not %06u",
			    cfg->region);
		return JL_EINVAL;
	}
	jl_run_t *r = jl_calloc(JL_MEM_MISC, 1, sizeof *r);
	if (!r)
		return JL_ENOMEM;
	jl_rc rc = JL_OK;
	r->cfg = cfg;
	r->sink = sink;
	r->st = st;
	r->seed = cfg->seed;
	r->a = jl_arena_new(1 << 20, 0);
	jl_buf_init(&r->buf, JL_MEM_MISC, 1 << 20);
	jl_buf_init(&r->line, JL_MEM_MISC, 1 << 16);
	if (!r->a) {
		rc = JL_ENOMEM;
		goto out;
	}
	jl_gen_params_t *params = NULL;
	if (cfg->params)
		r->p = cfg->params;
	else {
		params = jl_arena_alloc(r->a, sizeof *params);
		if (!params) {
			rc = JL_ENOMEM;
			goto out;
		}
		rc = jl_gen_params_parse(r->a, NULL, 0, params, d);
		if (rc)
			goto out;
		r->p = params;
	}
	rc = jl_geo_load(r->a, cfg->region, &r->geo, d);
	if (rc)
		goto out;
	r->day0 = jl_day(cfg->year_from, 1, 1);
	r->day1 = jl_day(cfg->year_to, 12, 31);
	rc = jl_region_build(r, d);
	if (rc)
		goto out;
	r->vill_serial = jl_arena_calloc(r->a, r->geo.nvillages, sizeof *r->vill_serial);
	r->org_mrn = jl_arena_calloc(r->a, r->norgs, sizeof *r->org_mrn);
	if (!r->vill_serial || !r->org_mrn) {
		rc = JL_ENOMEM;
		goto out;
	}
	snprintf(st->region_name, sizeof st->region_name, "%s%s", r->geo.prov_name, r->geo.pref_name);
	st->counties = r->geo.ncounties;
	for (uint32_t c = 0; c < r->geo.ncounties; c++) {
		st->county_code[c] = r->geo.counties[c].code;
		st->county_pop_share[c] = r->geo.counties[c].weight / r->county_cum[r->geo.ncounties - 1];
		double *v = st->county_rate[c];
		v[JL_GEN_R_FOLLOWUP] = r->r_followup[c];
		v[JL_GEN_R_BP] = r->r_bp[c];
		v[JL_GEN_R_FPG] = r->r_fpg[c];
		v[JL_GEN_R_SMI] = r->r_smi[c];
		v[JL_GEN_R_ELDERLY] = r->r_elderly[c];
		v[JL_GEN_R_VACCINE] = r->r_vaccine[c];
		v[JL_GEN_R_CHILD] = r->r_child[c];
	}
	st->towns = r->geo.ntowns;
	st->villages = r->geo.nvillages;

	jl_buf_puts(&r->line, "record\tperson\torganization\terrors");
	jl_run_truth(r, JL_GEN_TRUTH_DUPLICATES);
	jl_buf_clear(&r->line);
	jl_buf_puts(&r->line, "condition\toutbreak\tpatient");
	jl_run_truth(r, JL_GEN_TRUTH_OUTBREAK_CASES);
	jl_region_emit(r);
	jl_health_outbreaks_init(r);
	int64_t idx = 0, hh = 0, next_report = 0;
	while (idx < cfg->residents && !r->rc) {
		jl_people_household(r, hh++, &idx, cfg->residents);
		if (sink->progress && idx >= next_report) {
			sink->progress(sink->arg, idx, cfg->residents, st->resources);
			next_report = idx + 1000;
		}
	}
	if (!r->rc)
		jl_health_outbreaks_truth(r);
	if (sink->progress && !r->rc)
		sink->progress(sink->arg, idx, cfg->residents, st->resources);
	rc = r->rc;
out:
	jl_free(JL_MEM_MISC, r->seq_keys);
	jl_free(JL_MEM_MISC, r->seq_vals);
	jl_buf_dispose(&r->buf);
	jl_buf_dispose(&r->line);
	jl_arena_free(r->a);
	jl_free(JL_MEM_MISC, r);
	return rc;
}
