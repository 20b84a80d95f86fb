/*
 * Unit tests for fhir/model: facts of the generated R4 tables (counts,
 * Patient, Observation, Questionnaire recursion, abstract Resource slots,
 * Extension choices, required bindings and their completeness) and the
 * invariants the lookups rely on (sort orders, index ranges), checked over
 * every type and value set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fhir/model.h"

static const jl_fhir_type_t *type(const char *name)
{
	const jl_fhir_type_t *t = jl_fhir_type(jl_cstr(name));
	if (!t)
		fail_msg("no type %s", name);
	return t;
}

static const jl_fhir_prop_t *prop(const jl_fhir_type_t *t, const char *json)
{
	const jl_fhir_prop_t *p = jl_fhir_prop(t, jl_cstr(json));
	if (!p)
		fail_msg("%s has no property %s", t->name, json);
	return p;
}

static const jl_fhir_type_t *prop_type(const jl_fhir_type_t *t, const char *json)
{
	return &jl_fhir_types[prop(t, json)->type];
}

static const jl_fhir_elem_t *elem(const jl_fhir_type_t *t, const char *json)
{
	return jl_fhir_prop_elem(t, prop(t, json));
}

static void test_counts(void **state)
{
	(void)state;
	assert_string_equal(jl_fhir_version, "4.0.1");
	/*
	 * R4 4.0.1 defines 146 concrete resource types: the 148 codes of the
	 * resource-types code system less Resource and DomainResource. (The
	 * often-quoted "145" is one short.)
	 */
	assert_int_equal(jl_fhir_nresources, 146);
	unsigned n = 0, kinds[6] = {0};
	for (uint16_t i = 0; i < jl_fhir_ntypes; i++) {
		uint8_t k = jl_fhir_types[i].kind;
		assert_true(k >= JL_FHIR_PRIMITIVE && k <= JL_FHIR_ABSTRACT);
		kinds[k]++;
		n += k == JL_FHIR_RESOURCE;
	}
	assert_int_equal(n, jl_fhir_nresources);
	assert_int_equal(kinds[JL_FHIR_PRIMITIVE], 20);
	assert_int_equal(kinds[JL_FHIR_ABSTRACT], 4);
	assert_true(kinds[JL_FHIR_COMPLEX] >= 41);
	assert_true(kinds[JL_FHIR_BACKBONE] > 400);
	assert_true(jl_fhir_nvaluesets > 200);
}

static void test_resources_index(void **state)
{
	(void)state;
	for (uint16_t i = 0; i < jl_fhir_nresources; i++) {
		const jl_fhir_type_t *t = &jl_fhir_types[jl_fhir_resources[i]];
		assert_int_equal(t->kind, JL_FHIR_RESOURCE);
		if (i)
			assert_true(strcmp(jl_fhir_types[jl_fhir_resources[i - 1]].name, t->name) < 0);
		assert_ptr_equal(jl_fhir_resource(jl_cstr(t->name)), t);
	}
	assert_non_null(jl_fhir_resource(JL_STR("Patient")));
	assert_non_null(jl_fhir_resource(JL_STR("VisionPrescription")));
	assert_non_null(jl_fhir_resource(JL_STR("Account")));
	assert_null(jl_fhir_resource(JL_STR("Resource")));
	assert_null(jl_fhir_resource(JL_STR("DomainResource")));
	assert_null(jl_fhir_resource(JL_STR("MetadataResource"))); /* a logical model */
	assert_null(jl_fhir_resource(JL_STR("HumanName")));
	assert_null(jl_fhir_resource(JL_STR("Patient.contact")));
	assert_null(jl_fhir_resource(JL_STR("patient")));
	assert_null(jl_fhir_resource(JL_STR("")));
	assert_null(jl_fhir_resource(JL_STR_NULL));
}

static void test_type_lookup(void **state)
{
	(void)state;
	for (uint16_t i = 0; i < jl_fhir_ntypes; i++) {
		const jl_fhir_type_t *t = &jl_fhir_types[i];
		if (i)
			assert_true(strcmp(jl_fhir_types[i - 1].name, t->name) < 0);
		assert_ptr_equal(jl_fhir_type(jl_cstr(t->name)), t);
		assert_int_equal(jl_fhir_type_index(t), i);
	}
	assert_int_equal(type("Patient")->kind, JL_FHIR_RESOURCE);
	assert_int_equal(type("Patient.contact")->kind, JL_FHIR_BACKBONE);
	assert_int_equal(type("Bundle.entry.request")->kind, JL_FHIR_BACKBONE);
	assert_int_equal(type("HumanName")->kind, JL_FHIR_COMPLEX);
	assert_int_equal(type("Age")->kind, JL_FHIR_COMPLEX);
	assert_int_equal(type("SimpleQuantity")->kind, JL_FHIR_COMPLEX);
	assert_int_equal(type("MoneyQuantity")->kind, JL_FHIR_COMPLEX);
	assert_int_equal(type("Resource")->kind, JL_FHIR_ABSTRACT);
	assert_int_equal(type("DomainResource")->kind, JL_FHIR_ABSTRACT);
	assert_int_equal(type("Element")->kind, JL_FHIR_ABSTRACT);
	assert_int_equal(type("BackboneElement")->kind, JL_FHIR_ABSTRACT);
	assert_int_equal(type("dateTime")->kind, JL_FHIR_PRIMITIVE);
	assert_int_equal(type("dateTime")->prim, JL_PRIM_DATETIME);
	assert_int_equal(type("xhtml")->prim, JL_PRIM_XHTML);

	const char *unknown[] = {"Bogus",	  "Patien",	      "Patientx",      "Patient.", "patient",
				 "Patient.bogus", "MetadataResource", "System.String", "",	   "~"};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		assert_null(jl_fhir_type(jl_cstr(unknown[i])));
	assert_null(jl_fhir_type(JL_STR_NULL));
	/* Lengths are honoured: not NUL-terminated, and NUL bytes never match. */
	assert_ptr_equal(jl_fhir_type(jl_str("PatientXYZ", 7)), type("Patient"));
	assert_null(jl_fhir_type(jl_str("Patient\0", 8)));
	assert_null(jl_fhir_type(jl_str("Patient\0.contact", 15)));
}

static void test_primitives(void **state)
{
	(void)state;
	static const char *const names[] = {
	    "boolean",	    "integer",	"string",      "decimal",     "uri",  "url",   "canonical",
	    "base64Binary", "instant",	"date",	       "dateTime",    "time", "code",  "oid",
	    "id",	    "markdown", "unsignedInt", "positiveInt", "uuid", "xhtml",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const jl_fhir_type_t *t = type(names[i]);
		assert_int_equal(t->kind, JL_FHIR_PRIMITIVE);
		assert_int_equal(t->prim, (int)i + 1); /* jl_fhir_prim order */
		/* The value is the JSON scalar: only id and extension are members. */
		assert_int_equal(t->nelems, 2);
		assert_string_equal(t->elems[0].name, "id");
		assert_string_equal(t->elems[1].name, "extension");
		assert_int_equal(t->nprops, 2);
		assert_string_equal(jl_fhir_types[t->elems[0].type].name, "string");
		assert_string_equal(jl_fhir_types[t->elems[1].type].name, "Extension");
	}
	for (uint16_t i = 0; i < jl_fhir_ntypes; i++)
		assert_int_equal(jl_fhir_types[i].prim != JL_PRIM_NONE,
				 jl_fhir_types[i].kind == JL_FHIR_PRIMITIVE);
	/* xhtml forbids extensions (0..0) but JSON would still carry them as an array. */
	const jl_fhir_elem_t *x = &type("xhtml")->elems[1];
	assert_int_equal(x->max, 0);
	assert_true(x->flags & JL_EF_ARRAY);
}

static void test_patient(void **state)
{
	(void)state;
	const jl_fhir_type_t *pt = type("Patient");

	const jl_fhir_elem_t *e = elem(pt, "birthDate");
	assert_string_equal(e->name, "birthDate");
	assert_int_equal(e->min, 0);
	assert_int_equal(e->max, 1);
	assert_false(e->flags & JL_EF_ARRAY);
	assert_false(e->flags & JL_EF_CHOICE);
	assert_true(e->flags & JL_EF_SUMMARY);
	assert_int_equal(e->binding, 0);
	assert_string_equal(prop_type(pt, "birthDate")->name, "date");
	assert_int_equal(prop_type(pt, "birthDate")->prim, JL_PRIM_DATE);

	e = elem(pt, "name");
	assert_int_equal(e->min, 0);
	assert_int_equal(e->max, JL_FHIR_MANY);
	assert_true(e->flags & JL_EF_ARRAY);
	assert_string_equal(jl_fhir_types[e->type].name, "HumanName");
	assert_string_equal(prop_type(pt, "name")->name, "HumanName");

	/* deceased[x]: two properties, one element. */
	const jl_fhir_prop_t *b = prop(pt, "deceasedBoolean"), *d = prop(pt, "deceasedDateTime");
	assert_int_equal(b->elem, d->elem);
	e = jl_fhir_prop_elem(pt, b);
	assert_string_equal(e->name, "deceased[x]");
	assert_true(e->flags & JL_EF_CHOICE);
	assert_true(e->flags & JL_EF_MODIFIER);
	assert_int_equal(e->nchoice, 2);
	assert_string_equal(jl_fhir_types[b->type].name, "boolean");
	assert_string_equal(jl_fhir_types[d->type].name, "dateTime");
	assert_string_equal(jl_fhir_types[jl_fhir_choice[e->type]].name, "boolean");
	assert_string_equal(jl_fhir_types[jl_fhir_choice[e->type + 1]].name, "dateTime");
	assert_null(jl_fhir_prop(pt, JL_STR("deceased")));
	assert_null(jl_fhir_prop(pt, JL_STR("deceased[x]")));
	assert_null(jl_fhir_prop(pt, JL_STR("deceasedString")));

	/* Inherited elements are flattened, Resource's first. */
	static const char *const inherited[] = {"id",	"meta",	     "implicitRules", "language",
						"text", "contained", "extension",     "modifierExtension"};
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(pt->elems[i].name, inherited[i]);
	assert_string_equal(prop_type(pt, "id")->name, "id");
	assert_string_equal(prop_type(pt, "meta")->name, "Meta");
	assert_string_equal(prop_type(pt, "contact")->name, "Patient.contact");
	assert_int_equal(prop_type(type("Patient.contact"), "modifierExtension") - jl_fhir_types,
			 jl_fhir_type_index(type("Extension")));

	/* Unknown members; lengths honoured. */
	const char *bad[] = {"bogus",	     "birthDat", "birthDatee", "BirthDate", "_birthDate",
			     "resourceType", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(jl_fhir_prop(pt, jl_cstr(bad[i])));
	assert_non_null(jl_fhir_prop(pt, jl_str("birthDateXYZ", 9)));
	assert_null(jl_fhir_prop(pt, jl_str("birthDate\0", 10)));
	assert_null(jl_fhir_prop(pt, JL_STR_NULL));
	assert_null(jl_fhir_prop(NULL, JL_STR("id")));
}

static void test_observation_status(void **state)
{
	(void)state;
	const jl_fhir_type_t *ot = type("Observation");
	const jl_fhir_elem_t *e = elem(ot, "status");
	assert_int_equal(e->min, 1);
	assert_true(e->flags & JL_EF_MODIFIER);
	assert_int_not_equal(e->binding, 0);
	const jl_fhir_valueset_t *vs = jl_fhir_binding(e);
	assert_non_null(vs);
	assert_string_equal(vs->url, "http://hl7.org/fhir/ValueSet/observation-status");
	assert_int_equal(vs->complete, 1);
	assert_int_equal(vs->ncodes, 8);
	assert_int_equal(vs->nsys, 1);
	assert_string_equal(vs->systems[0], "http://hl7.org/fhir/observation-status");
	assert_true(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("final")));
	assert_true(
	    jl_fhir_vs_contains(vs, JL_STR("http://hl7.org/fhir/observation-status"), JL_STR("final")));
	assert_true(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("entered-in-error")));
	assert_false(jl_fhir_vs_contains(vs, JL_STR("http://example.org/other"), JL_STR("final")));
	assert_false(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("bogus")));
	assert_false(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("Final")));
	assert_false(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("fina")));
	assert_false(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("finalx")));
	assert_false(jl_fhir_vs_contains(vs, JL_STR_NULL, JL_STR("")));
	assert_true(jl_fhir_vs_contains(vs, JL_STR_NULL, jl_str("finalize", 5)));

	/* Observation.value[x] and the choices FHIRPath names by type. */
	assert_string_equal(prop_type(ot, "valueQuantity")->name, "Quantity");
	assert_string_equal(prop_type(ot, "effectiveDateTime")->name, "dateTime");
	assert_int_equal(prop(ot, "valueString")->elem, prop(ot, "valueQuantity")->elem);
}

static void test_recursion_and_abstract_slots(void **state)
{
	(void)state;
	const jl_fhir_type_t *qi = type("Questionnaire.item");
	assert_ptr_equal(prop_type(type("Questionnaire"), "item"), qi);
	assert_ptr_equal(prop_type(qi, "item"), qi); /* contentReference #Questionnaire.item */
	assert_true(elem(qi, "item")->flags & JL_EF_ARRAY);
	const jl_fhir_type_t *ri = type("QuestionnaireResponse.item");
	assert_ptr_equal(prop_type(type("QuestionnaireResponse.item.answer"), "item"), ri);

	const jl_fhir_type_t *res = type("Resource");
	assert_ptr_equal(prop_type(type("Bundle.entry"), "resource"), res);
	assert_ptr_equal(prop_type(type("Parameters.parameter"), "resource"), res);
	assert_ptr_equal(prop_type(type("DomainResource"), "contained"), res);
	assert_ptr_equal(prop_type(type("Patient"), "contained"), res);
	assert_ptr_equal(prop_type(type("Parameters.parameter"), "part"), type("Parameters.parameter"));
	assert_ptr_equal(prop_type(type("Bundle.entry"), "request"), type("Bundle.entry.request"));

	/* The abstract bases carry their own elements. */
	assert_int_equal(type("Resource")->nelems, 4);
	assert_int_equal(type("DomainResource")->nelems, 8);
	assert_int_equal(type("Element")->nelems, 2);
	assert_int_equal(type("BackboneElement")->nelems, 3);
	/* Bundle derives from Resource directly: no text, no extension. */
	assert_null(jl_fhir_prop(type("Bundle"), JL_STR("text")));
	assert_null(jl_fhir_prop(type("Bundle"), JL_STR("extension")));
}

static void test_extension_and_system_types(void **state)
{
	(void)state;
	const jl_fhir_type_t *ext = type("Extension");
	const jl_fhir_elem_t *v = elem(ext, "valueCodeableConcept");
	assert_string_equal(v->name, "value[x]");
	assert_true(v->flags & JL_EF_CHOICE);
	assert_true(v->nchoice >= 48 && v->nchoice <= 52);
	unsigned nvalue = 0;
	for (uint16_t i = 0; i < ext->nprops; i++)
		nvalue += strncmp(ext->props[i].json, "value", 5) == 0;
	assert_int_equal(nvalue, v->nchoice);
	assert_string_equal(prop_type(ext, "valueCodeableConcept")->name, "CodeableConcept");
	assert_string_equal(prop_type(ext, "valueAge")->name, "Age");
	assert_string_equal(prop_type(ext, "valueBase64Binary")->name, "base64Binary");
	assert_string_equal(prop_type(ext, "valueReference")->name, "Reference");
	assert_null(jl_fhir_prop(ext, JL_STR("valueResource")));
	/* FHIRPath System.String with its structuredefinition-fhir-type. */
	assert_string_equal(prop_type(ext, "url")->name, "uri");
	assert_int_equal(elem(ext, "url")->min, 1);
	assert_string_equal(prop_type(ext, "id")->name, "string");
	assert_string_equal(prop_type(type("Element"), "id")->name, "string");
	/* Resource.id is an `id` per the specification (the 4.0.1 snapshot says string). */
	assert_string_equal(prop_type(type("Resource"), "id")->name, "id");
	assert_string_equal(prop_type(type("Bundle"), "id")->name, "id");
	assert_string_equal(prop_type(type("Patient.contact"), "id")->name, "string");
}

static void test_constrained_types(void **state)
{
	(void)state;
	const jl_fhir_type_t *sq = type("SimpleQuantity"), *q = type("Quantity");
	assert_int_equal(sq->nelems, q->nelems);
	assert_int_equal(elem(sq, "comparator")->max, 0);
	assert_int_equal(elem(q, "comparator")->max, 1);
	assert_int_equal(type("Age")->nelems, q->nelems);
	assert_non_null(jl_fhir_prop(type("Duration"), JL_STR("unit")));
	/* A non-choice element profiled to SimpleQuantity uses it... */
	assert_ptr_equal(prop_type(type("Observation.referenceRange"), "low"), sq);
	/* ...a choice keeps the type its JSON name and FHIRPath use. */
	assert_ptr_equal(prop_type(type("Dosage.doseAndRate"), "doseQuantity"), q);
	assert_ptr_equal(prop_type(type("Timing.repeat"), "boundsDuration"), type("Duration"));
}

static void test_bindings(void **state)
{
	(void)state;
	/* Resource.language is a preferred binding (with a max value set): not listed. */
	assert_int_equal(elem(type("Resource"), "language")->binding, 0);
	assert_int_equal(elem(type("Patient"), "language")->binding, 0);
	assert_int_equal(elem(type("Patient"), "maritalStatus")->binding, 0); /* extensible */

	const jl_fhir_valueset_t *mime = jl_fhir_binding(elem(type("Attachment"), "contentType"));
	assert_non_null(mime);
	assert_string_equal(mime->url, "http://hl7.org/fhir/ValueSet/mimetypes");
	assert_int_equal(mime->complete, 0);
	assert_false(jl_fhir_vs_contains(mime, JL_STR_NULL, JL_STR("application/fhir+json")));
	assert_ptr_equal(jl_fhir_binding(elem(type("Binary"), "contentType")), mime); /* one entry per URL */

	const jl_fhir_valueset_t *cur = jl_fhir_binding(elem(type("Money"), "currency"));
	assert_non_null(cur);
	assert_int_equal(cur->complete, 0);

	/* Explicit codes from a system we cannot enumerate make a complete value set. */
	const jl_fhir_valueset_t *ut = jl_fhir_binding(elem(type("Timing.repeat"), "periodUnit"));
	assert_non_null(ut);
	assert_string_equal(ut->url, "http://hl7.org/fhir/ValueSet/units-of-time");
	assert_int_equal(ut->complete, 1);
	assert_true(jl_fhir_vs_contains(ut, JL_STR("http://unitsofmeasure.org"), JL_STR("wk")));
	assert_false(jl_fhir_vs_contains(ut, JL_STR_NULL, JL_STR("week")));

	/* Bindings on data types and on backbone elements. */
	const jl_fhir_valueset_t *au = jl_fhir_binding(elem(type("HumanName"), "use"));
	assert_true(au && au->complete && jl_fhir_vs_contains(au, JL_STR_NULL, JL_STR("official")));
	const jl_fhir_valueset_t *bm = jl_fhir_binding(elem(type("Bundle.entry.request"), "method"));
	assert_true(bm && jl_fhir_vs_contains(bm, JL_STR_NULL, JL_STR("PATCH")));
	assert_false(jl_fhir_vs_contains(bm, JL_STR_NULL, JL_STR("patch")));
	/* Abstract grouping codes are not members (item-type "question"). */
	const jl_fhir_valueset_t *it = jl_fhir_binding(elem(type("Questionnaire.item"), "type"));
	assert_true(it && it->complete);
	assert_true(jl_fhir_vs_contains(it, JL_STR_NULL, JL_STR("boolean")));
	assert_false(jl_fhir_vs_contains(it, JL_STR_NULL, JL_STR("question")));
	/* A required binding on a CodeableConcept. */
	assert_non_null(jl_fhir_binding(elem(type("Composition"), "confidentiality")));
}

static void test_all_types_invariants(void **state)
{
	(void)state;
	for (uint16_t i = 0; i < jl_fhir_ntypes; i++) {
		const jl_fhir_type_t *t = &jl_fhir_types[i];
		assert_true(t->nelems > 0);
		assert_true(t->nprops >= t->nelems);
		for (uint16_t k = 0; k < t->nprops; k++) {
			const jl_fhir_prop_t *p = &t->props[k];
			if (k && strcmp(t->props[k - 1].json, p->json) >= 0)
				fail_msg("%s: props not strictly sorted at %s", t->name, p->json);
			assert_true(p->elem < t->nelems);
			assert_true(p->type < jl_fhir_ntypes);
			assert_ptr_equal(jl_fhir_prop(t, jl_cstr(p->json)), p);
			const jl_fhir_elem_t *e = &t->elems[p->elem];
			if (e->flags & JL_EF_CHOICE) {
				/* JSON name = stem + type name with a capital, and the type is a listed
				 * choice. */
				size_t n = strlen(e->name) - 3;
				const char *tn = jl_fhir_types[p->type].name;
				char want[128];
				snprintf(want, sizeof want, "%.*s%c%s", (int)n, e->name,
					 tn[0] >= 'a' && tn[0] <= 'z' ? tn[0] - 'a' + 'A' : tn[0], tn + 1);
				assert_string_equal(p->json, want);
				bool listed = false;
				for (uint16_t c = 0; c < e->nchoice; c++)
					listed |= jl_fhir_choice[e->type + c] == p->type;
				assert_true(listed);
			} else {
				assert_string_equal(p->json, e->name);
				assert_int_equal(p->type, e->type);
			}
		}
		for (uint16_t k = 0; k < t->nelems; k++) {
			const jl_fhir_elem_t *e = &t->elems[k];
			size_t n = strlen(e->name);
			bool choice = n > 3 && strcmp(e->name + n - 3, "[x]") == 0;
			assert_int_equal(choice, !!(e->flags & JL_EF_CHOICE));
			assert_int_equal(choice, e->nchoice > 0);
			assert_true(e->min <= e->max);
			if (e->max > 1)
				assert_true(e->flags & JL_EF_ARRAY);
			if (choice) {
				for (uint16_t c = 0; c < e->nchoice; c++)
					assert_true(jl_fhir_choice[e->type + c] < jl_fhir_ntypes);
			} else {
				assert_true(e->type < jl_fhir_ntypes);
			}
			assert_true(e->binding <= jl_fhir_nvaluesets);
			unsigned np = 0;
			for (uint16_t j = 0; j < t->nprops; j++)
				np += t->props[j].elem == k;
			assert_int_equal(np, choice ? e->nchoice : 1);
		}
	}
}

static void test_all_valuesets_invariants(void **state)
{
	(void)state;
	unsigned incomplete = 0, used[1024] = {0};
	assert_true(jl_fhir_nvaluesets < 1024);
	for (uint16_t i = 0; i < jl_fhir_nvaluesets; i++) {
		const jl_fhir_valueset_t *vs = &jl_fhir_valuesets[i];
		if (i)
			assert_true(strcmp(jl_fhir_valuesets[i - 1].url, vs->url) < 0);
		assert_null(strchr(vs->url, '|'));
		incomplete += !vs->complete;
		if (vs->complete)
			assert_true(vs->ncodes > 0);
		for (uint32_t k = 0; k < vs->ncodes; k++) {
			const jl_fhir_code_t *c = &vs->codes[k];
			assert_true(c->sys < vs->nsys);
			if (k) {
				int r = strcmp(vs->codes[k - 1].code, c->code);
				assert_true(r < 0 || (r == 0 && vs->codes[k - 1].sys < c->sys));
			}
			assert_true(jl_fhir_vs_contains(vs, JL_STR_NULL, jl_cstr(c->code)));
			assert_true(jl_fhir_vs_contains(vs, jl_cstr(vs->systems[c->sys]), jl_cstr(c->code)));
		}
	}
	/* Every value set is bound somewhere. */
	for (uint16_t i = 0; i < jl_fhir_ntypes; i++)
		for (uint16_t k = 0; k < jl_fhir_types[i].nelems; k++)
			if (jl_fhir_types[i].elems[k].binding)
				used[jl_fhir_types[i].elems[k].binding - 1] = 1;
	for (uint16_t i = 0; i < jl_fhir_nvaluesets; i++)
		if (!used[i])
			fail_msg("value set %s is bound nowhere", jl_fhir_valuesets[i].url);
	/* currencies, mimetypes, ucum-units, LOINC LL379-9 */
	assert_int_equal(incomplete, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_resources_index),
	    cmocka_unit_test(test_type_lookup),
	    cmocka_unit_test(test_primitives),
	    cmocka_unit_test(test_patient),
	    cmocka_unit_test(test_observation_status),
	    cmocka_unit_test(test_recursion_and_abstract_slots),
	    cmocka_unit_test(test_extension_and_system_types),
	    cmocka_unit_test(test_constrained_types),
	    cmocka_unit_test(test_bindings),
	    cmocka_unit_test(test_all_types_invariants),
	    cmocka_unit_test(test_all_valuesets_invariants),
	};
	return cmocka_run_group_tests_name("fhir/model", tests, NULL, NULL);
}
