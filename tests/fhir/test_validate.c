/*
 * Unit tests for fhir/validate: one case per rule, each asserting the
 * outcome and the FHIRPath expression of the issue it must report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "base/json.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

typedef struct vcase {
	const char *json;
	const char *expr;  /* expected expression of the first issue; NULL = must be valid */
	const char *code;  /* expected issue code (optional) */
} vcase_t;

static void run(const vcase_t *c)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	if (jl_json_parse(a, c->json, strlen(c->json), NULL, &v, &e))
		fail_msg("test JSON does not parse: %s (%s)", c->json, e.msg);
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_rc rc = jl_fhir_validate(v, NULL, &d);
	if (!c->expr) {
		if (rc != JL_OK)
			fail_msg("rejected valid resource %s: %s at %s", c->json, d.items[0].diag,
				 d.items[0].expr ? d.items[0].expr : "-");
	} else {
		if (rc != JL_EINVALID)
			fail_msg("accepted invalid resource %s (expected issue at %s)", c->json, c->expr);
		int found = 0;
		for (size_t i = 0; i < d.n; i++)
			if (d.items[i].expr && !strcmp(d.items[i].expr, c->expr) &&
			    (!c->code || !strcmp(d.items[i].code, c->code)))
				found = 1;
		if (!found)
			fail_msg("for %s expected an issue at %s, got: %s at %s", c->json, c->expr, d.items[0].diag,
				 d.items[0].expr ? d.items[0].expr : "-");
	}
	jl_arena_free(a);
}

static void test_valid(void **state)
{
	(void)state;
	static const vcase_t cases[] = {
		{"{\"resourceType\":\"Patient\"}", NULL, NULL},
		{"{\"resourceType\":\"Patient\",\"id\":\"p-1.a\",\"active\":true,\"gender\":\"female\","
		 "\"birthDate\":\"1970-02\",\"name\":[{\"family\":\"王\",\"given\":[\"小明\"]}],"
		 "\"deceasedDateTime\":\"2020-01-01T10:00:00+08:00\"}", NULL, NULL},
		{"{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"BP\"},"
		 "\"valueQuantity\":{\"value\":120.50,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"},"
		 "\"effectiveDateTime\":\"2024\"}", NULL, NULL},
		/* primitive extensions, aligned with null */
		{"{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",null],\"_given\":[null,{\"extension\":"
		 "[{\"url\":\"http://x\",\"valueString\":\"B\"}]}]}]}", NULL, NULL},
		{"{\"resourceType\":\"Patient\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x\",\"valueBoolean\":true}]}}",
		 NULL, NULL},
		/* contained and bundle resources */
		{"{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
		 "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o\"}]}}]}", NULL, NULL},
		{"{\"resourceType\":\"Questionnaire\",\"status\":\"draft\",\"item\":[{\"linkId\":\"1\",\"type\":\"group\","
		 "\"item\":[{\"linkId\":\"1.1\",\"type\":\"string\"}]}]}", NULL, NULL},
		{"{\"resourceType\":\"Binary\",\"contentType\":\"text/plain\",\"data\":\"aGVsbG8=\"}", NULL, NULL},
		{"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\"><p title=\\\"x onclick=y\\\" style=\\\"color: red\\\">online order = 3</p></div>\"}}",
		 NULL, NULL},
		{"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"}}",
		 NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
}

static void test_structure(void **state)
{
	(void)state;
	static const vcase_t cases[] = {
		{"{\"resourceType\":\"Patient\",\"nickname\":\"x\"}", "Patient.nickname", "structure"},
		{"{\"resourceType\":\"Patient\",\"name\":{\"family\":\"x\"}}", "Patient.name", "structure"},
		{"{\"resourceType\":\"Patient\",\"gender\":[\"male\"]}", "Patient.gender", "structure"},
		{"{\"resourceType\":\"Patient\",\"name\":[]}", "Patient.name", "structure"},
		{"{\"resourceType\":\"Patient\",\"name\":[{}]}", "Patient.name[0]", "structure"},
		{"{\"resourceType\":\"Patient\",\"active\":null}", "Patient.active", "structure"},
		{"{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\",null]}]}", "Patient.name[0].given[1]", "structure"},
		{"{\"resourceType\":\"Patient\",\"_id\":[1]}", "Patient.id", "structure"},
		{"{\"resourceType\":\"Patient\",\"_name\":{}}", "Patient.name", "structure"},
		{"{\"resourceType\":\"Patient\",\"contact\":[{\"name\":{\"family\":\"x\"},\"foo\":1}]}",
		 "Patient.contact[0].foo", "structure"},
		{"{\"resourceType\":\"Patient\",\"deceasedBoolean\":true,\"deceasedDateTime\":\"2020\"}",
		 "Patient.deceased.ofType(dateTime)", "structure"},
		{"{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"valueFoo\":1}",
		 "Observation.valueFoo", "structure"},
		{"{\"resourceType\":\"Patient\",\"contained\":[{\"id\":\"x\"}]}", "Patient.contained[0]", "required"},
		{"{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Nope\"}]}", "Patient.contained[0]",
		 "not-supported"},
		{"{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
		 "\"gender\":\"x\"}}]}", "Bundle.entry[0].resource.gender", "code-invalid"},
		{"{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\"],\"_given\":[null,null]}]}",
		 "Patient.name[0].given", "structure"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
}

static void test_cardinality(void **state)
{
	(void)state;
	static const vcase_t cases[] = {
		/* Observation.status and .code are 1..1 */
		{"{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}", "Observation.status", "required"},
		{"{\"resourceType\":\"Observation\",\"status\":\"final\"}", "Observation.code", "required"},
		/* Extension.url is required */
		{"{\"resourceType\":\"Patient\",\"extension\":[{\"valueString\":\"x\"}]}", "Patient.extension[0].url",
		 "required"},
		/* A required element given only through its extension counts as present */
		{"{\"resourceType\":\"Observation\",\"_status\":{\"extension\":[{\"url\":\"http://x\",\"valueString\":\"y\"}]},"
		 "\"code\":{\"text\":\"x\"},\"effectiveDateTime\":\"2020-13\"}", "Observation.effective.ofType(dateTime)",
		 "value"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
}

static void test_primitives(void **state)
{
	(void)state;
	static const vcase_t cases[] = {
		{"{\"resourceType\":\"Patient\",\"active\":\"true\"}", "Patient.active", "structure"},
		{"{\"resourceType\":\"Patient\",\"birthDate\":\"1970-02-30\"}", "Patient.birthDate", "value"},
		{"{\"resourceType\":\"Patient\",\"birthDate\":\"1970-1-1\"}", "Patient.birthDate", "value"},
		{"{\"resourceType\":\"Patient\",\"birthDate\":\"1970-01-01T00:00:00Z\"}", "Patient.birthDate", "value"},
		{"{\"resourceType\":\"Patient\",\"birthDate\":\"\"}", "Patient.birthDate", "value"},
		{"{\"resourceType\":\"Patient\",\"deceasedDateTime\":\"2020-01-01T10:00\"}",
		 "Patient.deceased.ofType(dateTime)", "value"},
		{"{\"resourceType\":\"Patient\",\"deceasedDateTime\":\"2020-01-01T10:00:00\"}",
		 "Patient.deceased.ofType(dateTime)", "value"},
		{"{\"resourceType\":\"Patient\",\"multipleBirthInteger\":1.5}", "Patient.multipleBirth.ofType(integer)",
		 "value"},
		{"{\"resourceType\":\"Patient\",\"multipleBirthInteger\":3000000000}",
		 "Patient.multipleBirth.ofType(integer)", "value"},
		{"{\"resourceType\":\"Patient\",\"id\":\"a_b\"}", "Patient.id", "value"},
		{"{\"resourceType\":\"Patient\",\"gender\":\" male\"}", "Patient.gender", "value"},
		{"{\"resourceType\":\"Patient\",\"implicitRules\":\"http://a b\"}", "Patient.implicitRules", "value"},
		{"{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"a\\u0001b\"}]}", "Patient.name[0].text", "value"},
		{"{\"resourceType\":\"Binary\",\"contentType\":\"text/plain\",\"data\":\"abc\"}", "Binary.data", "value"},
		{"{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"valueTime\":\"25:00:00\"}",
		 "Observation.value.ofType(time)", "value"},
		{"{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"issued\":\"2020-01-01\"}",
		 "Observation.issued", "value"},
		{"{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":\"1\"}}",
		 "Observation.value.ofType(Quantity).value", "structure"},
		{"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<p>x</p>\"}}", "Patient.text.div",
		 "value"},
		{"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div><script>x</script></div>\"}}",
		 "Patient.text.div", "value"},
		{"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div><img src=\\\"x\\\" onerror =\\\"alert(1)\\\"/></div>\"}}",
		 "Patient.text.div", "value"},
		{"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div><a href=\\\"JavaScript:x()\\\">y</a></div>\"}}",
		 "Patient.text.div", "value"},
		{"{\"resourceType\":\"Patient\",\"communication\":[{\"language\":{\"text\":\"zh\"}}],\"photo\":[{\"size\":-1}]}",
		 "Patient.photo[0].size", "value"},
		{"{\"resourceType\":\"ImagingStudy\",\"status\":\"available\",\"subject\":{\"reference\":\"Patient/1\"},"
		 "\"identifier\":[{\"system\":\"urn:dicom:uid\",\"value\":\"urn:oid:1.2.x\"}],\"numberOfSeries\":-2}",
		 "ImagingStudy.numberOfSeries", "value"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
}

static void test_bindings(void **state)
{
	(void)state;
	static const vcase_t cases[] = {
		{"{\"resourceType\":\"Patient\",\"gender\":\"man\"}", "Patient.gender", "code-invalid"},
		{"{\"resourceType\":\"Observation\",\"status\":\"done\",\"code\":{\"text\":\"x\"}}", "Observation.status",
		 "code-invalid"},
		/* A required binding on a Coding (Bundle.entry.request.method is a code; use Meta.security? no:
		 * use an element typed Coding with a required binding: Subscription.channel.type is code too).
		 * AuditEvent.type is Coding with an extensible binding, so it must pass. */
		{"{\"resourceType\":\"AuditEvent\",\"type\":{\"system\":\"http://x\",\"code\":\"y\"},\"recorded\":"
		 "\"2020-01-01T00:00:00Z\",\"agent\":[{\"requestor\":true}],\"source\":{\"observer\":{\"display\":\"x\"}}}",
		 NULL, NULL},
		/* Incomplete value set (MIME types): any syntactically valid code passes. */
		{"{\"resourceType\":\"Binary\",\"contentType\":\"application/x-anything\"}", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
}

static void test_many_issues_are_capped(void **state)
{
	(void)state;
	char buf[20000];
	size_t n = (size_t)snprintf(buf, sizeof buf, "{\"resourceType\":\"Patient\"");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, ",\"x%d\":1", i);
	snprintf(buf + n, sizeof buf - n, "}");
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(jl_json_parse(a, buf, strlen(buf), NULL, &v, &e), JL_OK);
	jl_diag_t d;
	jl_diag_init(&d, a);
	assert_int_equal(jl_fhir_validate(v, NULL, &d), JL_EINVALID);
	assert_int_equal(d.n, 100);
	assert_true(d.truncated);
	assert_int_equal(d.nerrors, 300);
	jl_arena_free(a);
}

static void test_diag_arena_exhausted(void **state)
{
	(void)state;
	const char *doc = "{\"resourceType\":\"Patient\",\"gender\":\"x\",\"birthDate\":\"no\",\"foo\":1,\"bar\":2}";
	jl_arena_t *pa = jl_arena_new(0, 0);
	jl_json_t *v;
	jl_json_err_t e;
	assert_int_equal(jl_json_parse(pa, doc, strlen(doc), NULL, &v, &e), JL_OK);
	/* Issues go to an arena that runs out (a cap) or whose allocations fail: still an exact verdict. */
	for (size_t cap = 64; cap <= 4096; cap *= 2) {
		jl_arena_t *a = jl_arena_new(64, cap);
		assert_non_null(a);
		jl_diag_t d;
		jl_diag_init(&d, a);
		assert_int_equal(jl_fhir_validate(v, NULL, &d), JL_EINVALID);
		assert_int_equal(d.nerrors, 4);
		assert_true(d.n <= 4);
		if (d.n < 4)
			assert_true(d.truncated);
		jl_arena_free(a);
	}
	for (int k = 0; k < 12; k++) {
		jl_arena_t *a = jl_arena_new(64, 0);
		assert_non_null(a);
		jl_diag_t d;
		jl_diag_init(&d, a);
		jl_mem_fail_after(k, 1);
		jl_rc rc = jl_fhir_validate(v, NULL, &d);
		jl_mem_fail_after(-1, 0);
		assert_int_equal(rc, JL_EINVALID);
		assert_int_equal(d.nerrors, 4);
		jl_arena_free(a);
	}
	jl_arena_free(pa);
}

/* A resource with no element besides its type stores an empty body (a null
 * pointer); reassembling it must give the same resource back (found by
 * fuzz_validate: pointer arithmetic on the null body). */
static void test_empty_body_round_trip(void **state)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	const char *src = "{\"resourceType\":\"BiologicallyDerivedProduct\"}";
	jl_json_t *v, *w;
	jl_json_err_t e;
	assert_int_equal(jl_json_parse(a, src, strlen(src), NULL, &v, &e), JL_OK);
	jl_buf_t body, full;
	jl_buf_init(&body, JL_MEM_MISC, 0);
	jl_buf_init(&full, JL_MEM_MISC, 0);
	uint32_t ml = 99;
	assert_int_equal(jl_fhir_body_encode(v, &body, &ml), JL_OK);
	assert_int_equal(ml, 0);
	assert_int_equal(jl_fhir_body_assemble(&full, JL_STR("BiologicallyDerivedProduct"), JL_STR("x"), 1, 0,
					       jl_buf_str(&body), ml),
			 JL_OK);
	assert_int_equal(jl_json_parse(a, full.p, full.n, NULL, &w, &e), JL_OK);
	assert_int_equal(jl_fhir_meta_version(w), 1);
	assert_true(jl_str_eqc(jl_json_str(jl_json_get(w, "id")), "x"));
	jl_diag_t d;
	jl_diag_init(&d, a);
	assert_int_equal(jl_fhir_validate(w, NULL, &d), JL_OK);
	jl_buf_dispose(&body);
	jl_buf_dispose(&full);
	jl_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_cardinality),
		cmocka_unit_test(test_primitives),
		cmocka_unit_test(test_bindings),
		cmocka_unit_test(test_many_issues_are_capped),
		cmocka_unit_test(test_diag_arena_exhausted),
		cmocka_unit_test(test_empty_body_round_trip),
	};
	return cmocka_run_group_tests_name("fhir/validate", tests, NULL, NULL);
}
