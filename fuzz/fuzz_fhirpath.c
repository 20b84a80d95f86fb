/*
 * libFuzzer target: FHIRPath. The input is an expression; whatever
 * compiles is evaluated against a fixed small Patient (with contained
 * resources, primitive extensions, choice elements and references), in the
 * default mode and in the strict modes, and each result item is turned into
 * text. Any crash, sanitizer report or abort is a bug: hostile expressions
 * must end in an error code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/fhirpath.h"

static const char patient[] =
	"{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"lastUpdated\":\"2024-01-02T03:04:05.678Z\"},"
	"\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Acme\"}],"
	"\"extension\":[{\"url\":\"http://x/e\",\"valueQuantity\":{\"value\":1.50,\"unit\":\"mg\","
	"\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg\"}}],"
	"\"identifier\":[{\"system\":\"urn:s\",\"value\":\"12\"}],\"active\":true,"
	"\"name\":[{\"use\":\"official\",\"family\":\"Chalmers\",\"given\":[\"Peter\",null,\"James\"],"
	"\"_given\":[null,{\"extension\":[{\"url\":\"http://x/n\",\"valueString\":\"J\"}]},{\"id\":\"g\"}]},"
	"{\"use\":\"usual\",\"given\":[\"Jim\"]}],"
	"\"telecom\":[{\"system\":\"phone\",\"value\":\"555\",\"rank\":1}],\"gender\":\"male\","
	"\"birthDate\":\"1974-12-25\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x/t\","
	"\"valueDateTime\":\"1974-12-25T14:35:45-05:00\"}]},\"deceasedBoolean\":false,"
	"\"multipleBirthInteger\":2,\"managingOrganization\":{\"reference\":\"#o1\"},"
	"\"generalPractitioner\":[{\"reference\":\"Practitioner/7\"}]}";

static jl_arena_t *static_arena;
static jl_json_t *input;

static void setup(void)
{
	jl_json_err_t e;
	static_arena = jl_arena_new(0, 0);
	if (!static_arena || jl_json_parse(static_arena, patient, sizeof patient - 1, NULL, &input, &e) != JL_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!input)
		setup();
	jl_arena_t *a = jl_arena_new(4096, 64u << 20);
	if (!a)
		return 0;
	jl_diag_t d;
	jl_diag_init(&d, a);
	jl_fp_expr_t *e;
	if (jl_fp_compile(a, jl_str((const char *)data, size), &e, &d) == JL_OK) {
		static const uint32_t modes[] = {0, JL_FP_STRICT | JL_FP_CHECK_ORDER};
		for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
			jl_fp_env_t env = {.flags = modes[m], .now_us = 1700000000000000LL};
			jl_fp_coll_t out;
			if (jl_fp_eval(a, e, input, NULL, &env, &out, &d) == JL_OK) {
				for (size_t i = 0; i < out.n; i++) {
					jl_str_t s;
					(void)jl_fp_to_string(a, &out.items[i], &s);
					(void)jl_fp_type_name(&out.items[i]);
				}
			}
		}
	}
	jl_arena_free(a);
	return 0;
}
