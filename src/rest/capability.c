/*
 * capability — the CapabilityStatement served at /fhir/metadata, built once
 * at start. It lists only what this build really does; each later
 * capability (search, transactions, patch …) adds itself here when it lands.
 */
#include "base/time.h"
#include "base/version.h"
#include <stdio.h>
#include <string.h>

#include "fhir/searchparam.h"
#include "rest/api.h"

static const char *const instance_interactions[] = {"read",         "vread",        "update",     "patch",  "delete",
						    "history-instance", "history-type", "create", "search-type"};

typedef struct cap_ctx {
	jl_jw_t *w;
	int refs; /* reference parameters seen (for searchInclude) */
} cap_ctx_t;

/* One searchParam entry (special ones and those without an expression are not indexed). */
static void cap_param(const jl_searchparam_t *p, void *arg)
{
	cap_ctx_t *c = arg;
	if (p->type == JL_SP_SPECIAL || (!p->expression && strcmp(p->code, "_lastUpdated") != 0))
		return;
	jl_jw_obj_begin(c->w);
	jl_jw_keyc(c->w, "name");
	jl_jw_strc(c->w, p->code);
	jl_jw_keyc(c->w, "definition");
	jl_jw_strc(c->w, p->url);
	jl_jw_keyc(c->w, "type");
	jl_jw_strc(c->w, jl_sp_type_name((jl_sp_type)p->type));
	jl_jw_obj_end(c->w);
}

static void cap_include(const jl_searchparam_t *p, void *arg)
{
	cap_ctx_t *c = arg;
	if (p->type != JL_SP_REFERENCE || !p->expression)
		return;
	char buf[200];
	snprintf(buf, sizeof buf, "%s:%s", p->base, p->code);
	jl_jw_strc(c->w, buf);
	c->refs++;
}

/* What rest/bulk.c's $export honours, at every level. */
static const char EXPORT_DOC[] =
	"NDJSON only. _type, _since, _typeFilter (search queries Type?params, those of a type OR'ed; search result "
	"parameters refused), _elements (root elements; resources tagged SUBSETTED). Not supported: patient, "
	"includeAssociatedData. Unusable _typeFilter/_elements values are errors unless Prefer: handling=lenient "
	"(then warnings in the manifest's error file).";

/* An operation entry (bulk export's: rest/bulk.c); doc may be NULL. */
static void cap_operation(jl_jw_t *w, const char *name, const char *definition, const char *doc)
{
	jl_jw_obj_begin(w);
	jl_jw_keyc(w, "name");
	jl_jw_strc(w, name);
	jl_jw_keyc(w, "definition");
	jl_jw_strc(w, definition);
	if (doc) {
		jl_jw_keyc(w, "documentation");
		jl_jw_strc(w, doc);
	}
	jl_jw_obj_end(w);
}

jl_rc jl__api_build_capability(jl_api_t *api)
{
	jl_buf_t *b = &api->capability;
	jl_buf_clear(b);
	char date[32];
	jl_time_fmt_instant(jl_now_us(), date);
	jl_jw_t w;
	jl_jw_init(&w, b, 0);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "resourceType");
	jl_jw_strc(&w, "CapabilityStatement");
	jl_jw_keyc(&w, "name");
	jl_jw_strc(&w, "JianlianServer");
	jl_jw_keyc(&w, "title");
	jl_jw_strc(&w, "健联 Jianlian regional health information platform — FHIR R4 server");
	jl_jw_keyc(&w, "status");
	jl_jw_strc(&w, "active");
	jl_jw_keyc(&w, "date");
	jl_jw_strc(&w, date);
	jl_jw_keyc(&w, "publisher");
	jl_jw_strc(&w, "Jianlian");
	jl_jw_keyc(&w, "kind");
	jl_jw_strc(&w, "instance");
	jl_jw_keyc(&w, "software");
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "name");
	jl_jw_strc(&w, "Jianlian");
	jl_jw_keyc(&w, "version");
	jl_jw_strc(&w, JL_VERSION);
	jl_jw_obj_end(&w);
	jl_jw_keyc(&w, "implementation");
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "description");
	jl_jw_strc(&w, "Jianlian FHIR R4 server (embedded SQLite store)");
	if (api->cfg.base_url) {
		jl_jw_keyc(&w, "url");
		jl_jw_strc(&w, api->cfg.base_url);
	}
	jl_jw_obj_end(&w);
	jl_jw_keyc(&w, "fhirVersion");
	jl_jw_strc(&w, jl_fhir_version);
	jl_jw_keyc(&w, "format");
	jl_jw_arr_begin(&w);
	jl_jw_strc(&w, "application/fhir+json");
	jl_jw_strc(&w, "json");
	jl_jw_arr_end(&w);
	/* PATCH bodies (rest/patch.c): JSON Patch, and FHIRPath Patch as FHIR JSON. */
	jl_jw_keyc(&w, "patchFormat");
	jl_jw_arr_begin(&w);
	jl_jw_strc(&w, "application/json-patch+json");
	jl_jw_strc(&w, "application/fhir+json");
	jl_jw_arr_end(&w);
	jl_jw_keyc(&w, "rest");
	jl_jw_arr_begin(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "mode");
	jl_jw_strc(&w, "server");
	jl_jw_keyc(&w, "documentation");
	jl_jw_strc(&w, "Every write is validated against the R4 definitions and committed durably before the "
		       "answer. Versions are kept forever; deletion writes a tombstone version.");
	jl_jw_keyc(&w, "resource");
	jl_jw_arr_begin(&w);
	for (uint16_t i = 0; i < jl_fhir_nresources; i++) {
		const jl_fhir_type_t *t = &jl_fhir_types[jl_fhir_resources[i]];
		jl_jw_obj_begin(&w);
		jl_jw_keyc(&w, "type");
		jl_jw_strc(&w, t->name);
		jl_jw_keyc(&w, "interaction");
		jl_jw_arr_begin(&w);
		for (size_t k = 0; k < sizeof instance_interactions / sizeof instance_interactions[0]; k++) {
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "code");
			jl_jw_strc(&w, instance_interactions[k]);
			jl_jw_obj_end(&w);
		}
		jl_jw_arr_end(&w);
		jl_jw_keyc(&w, "versioning");
		jl_jw_strc(&w, "versioned-update");
		jl_jw_keyc(&w, "readHistory");
		jl_jw_bool(&w, true);
		jl_jw_keyc(&w, "updateCreate");
		jl_jw_bool(&w, true);
		jl_jw_keyc(&w, "conditionalCreate");
		jl_jw_bool(&w, true);
		jl_jw_keyc(&w, "conditionalRead");
		jl_jw_strc(&w, "full-support");
		jl_jw_keyc(&w, "conditionalUpdate");
		jl_jw_bool(&w, true);
		jl_jw_keyc(&w, "conditionalDelete");
		jl_jw_strc(&w, api->cfg.cond_delete_max > 1 ? "multiple" : "single");
		cap_ctx_t c = {.w = &w};
		jl_jw_keyc(&w, "searchInclude");
		jl_jw_arr_begin(&w);
		jl_jw_strc(&w, "*");
		jl_search_each(api->defs, jl_cstr(t->name), cap_include, &c);
		jl_jw_arr_end(&w);
		jl_jw_keyc(&w, "searchRevInclude");
		jl_jw_arr_begin(&w);
		jl_jw_strc(&w, "*"); /* any reference parameter of any type that points here */
		jl_jw_arr_end(&w);
		jl_jw_keyc(&w, "searchParam");
		jl_jw_arr_begin(&w);
		jl_search_each(api->defs, jl_cstr(t->name), cap_param, &c);
		jl_jw_arr_end(&w);
		if (!strcmp(t->name, "Patient")) {
			jl_jw_keyc(&w, "operation");
			jl_jw_arr_begin(&w);
			jl_jw_obj_begin(&w);
			jl_jw_keyc(&w, "name");
			jl_jw_strc(&w, "everything");
			jl_jw_keyc(&w, "definition");
			jl_jw_strc(&w, "http://hl7.org/fhir/OperationDefinition/Patient-everything");
			jl_jw_obj_end(&w);
			cap_operation(&w, "export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
				      EXPORT_DOC);
			jl_jw_arr_end(&w);
		}
		if (!strcmp(t->name, "Group")) {
			jl_jw_keyc(&w, "operation");
			jl_jw_arr_begin(&w);
			cap_operation(&w, "export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export", EXPORT_DOC);
			jl_jw_arr_end(&w);
		}
		jl_jw_obj_end(&w);
	}
	jl_jw_arr_end(&w);
	jl_jw_keyc(&w, "interaction");
	jl_jw_arr_begin(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "code");
	jl_jw_strc(&w, "history-system");
	jl_jw_obj_end(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "code");
	jl_jw_strc(&w, "search-system");
	jl_jw_obj_end(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "code");
	jl_jw_strc(&w, "transaction");
	jl_jw_obj_end(&w);
	jl_jw_obj_begin(&w);
	jl_jw_keyc(&w, "code");
	jl_jw_strc(&w, "batch");
	jl_jw_obj_end(&w);
	jl_jw_arr_end(&w);
	jl_jw_keyc(&w, "operation");
	jl_jw_arr_begin(&w);
	cap_operation(&w, "export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export", EXPORT_DOC);
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	jl_jw_arr_end(&w);
	jl_jw_obj_end(&w);
	return jl_buf_status(b);
}
