/*
 * Unit tests for fhir/patch: every official case of the HL7 PATCH test
 * suite (tests/data/patch, converted from ../shared/testdata/patch by
 * tools/gen_patch_tests.mjs), then our own cases for what the suite does
 * not cover: copy, pointer escapes and index rules, numeric equality in
 * test, atomicity, choice types, primitive lists with "_name" data,
 * extensions on primitives, every error with the expression it names,
 * the caps on hostile patches, and allocation failure.
 *
 * Prints "patch suite: JSON Patch P/N, FHIRPath Patch P/N" and each
 * failing case. In the JSON literals below ` stands for " (FHIRPath
 * strings need the single quote).
 *
 *   build/tests/fhir/test_patch
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "fhir/patch.h"
#include "fhir/validate.h"

/* ------------------------------------------------------------------ helpers */

static jl_json_t *parse(jl_arena_t *a, const char *text)
{
	size_t n = strlen(text);
	char *s = jl_arena_strndup(a, text, n);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '`')
			s[i] = '"';
	jl_json_t *v;
	jl_json_err_t e;
	jl_rc rc = jl_json_parse(a, s, n, NULL, &v, &e);
	if (rc)
		fail_msg("test JSON does not parse (%s): %s", e.msg, s);
	return v;
}

static char *show(jl_arena_t *a, const jl_json_t *v)
{
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	assert_int_equal(jl_json_write(&b, v, 0), JL_OK);
	char *s = jl_arena_strndup(a, b.p, b.n);
	jl_buf_dispose(&b);
	return s;
}

typedef jl_rc (*patch_fn)(jl_arena_t *, jl_json_t **, const jl_json_t *, jl_diag_t *);

/* Applies a patch that must succeed and checks the result. */
static void ok(patch_fn fn, const char *doc, const char *patch, const char *want)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *d = parse(a, doc);
	jl_diag_t dg;
	jl_diag_init(&dg, a);
	jl_rc rc = fn(a, &d, parse(a, patch), &dg);
	if (rc)
		fail_msg("patch failed (%s: %s at %s)\n  doc   %s\n  patch %s", jl_rc_name(rc),
			 dg.n ? dg.items[0].diag : "-", dg.n && dg.items[0].expr ? dg.items[0].expr : "-", doc, patch);
	if (!jl_json_equal(d, parse(a, want)))
		fail_msg("wrong result\n  got  %s\n  want %s", show(a, d), want);
	jl_arena_free(a);
}

/*
 * Applies a patch that must fail with rc, leaving the document as it was,
 * with one issue whose expression is expr and whose text contains `text`.
 */
static void bad(patch_fn fn, const char *doc, const char *patch, jl_rc want, const char *expr, const char *text)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	jl_json_t *d = parse(a, doc), *orig = d;
	jl_diag_t dg;
	jl_diag_init(&dg, a);
	jl_rc rc = fn(a, &d, parse(a, patch), &dg);
	if (rc != want)
		fail_msg("expected %s, got %s (%s)\n  patch %s", jl_rc_name(want), jl_rc_name(rc),
			 dg.n ? dg.items[0].diag : "-", patch);
	assert_ptr_equal(d, orig);
	assert_true(jl_json_equal(d, parse(a, doc)));
	assert_int_equal(dg.n, 1);
	if (expr)
		assert_string_equal(dg.items[0].expr ? dg.items[0].expr : "(none)", expr);
	if (text && !strstr(dg.items[0].diag, text))
		fail_msg("issue \"%s\" does not mention \"%s\"", dg.items[0].diag, text);
	jl_arena_free(a);
}

/* A FHIRPath Patch Parameters with one operation given as its parts (JSON text of the part array). */
static char *op1(jl_arena_t *a, const char *parts)
{
	return jl_arena_printf(a, "{`resourceType`:`Parameters`,`parameter`:[{`name`:`operation`,`part`:%s}]}", parts);
}

static void fok(const char *doc, const char *parts, const char *want)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	ok(jl_patch_fhirpath, doc, op1(a, parts), want);
	jl_arena_free(a);
}

static void fbad(const char *doc, const char *parts, jl_rc want, const char *expr, const char *text)
{
	jl_arena_t *a = jl_arena_new(0, 0);
	bad(jl_patch_fhirpath, doc, op1(a, parts), want, expr, text);
	jl_arena_free(a);
}

/* ------------------------------------------------------------------ the official suite */

static const char *data_dir;

static const char *find_data_dir(const char *argv0)
{
	static char buf[4096];
	if (access("tests/data/patch/json-patch-tests.json", R_OK) == 0)
		return "tests/data/patch";
	const char *slash = strrchr(argv0, '/');
	for (int up = 3; slash && up <= 5; up++) {
		int k = snprintf(buf, sizeof buf, "%.*s", (int)(slash - argv0), argv0);
		for (int i = 0; i < up && k > 0 && (size_t)k < sizeof buf; i++)
			k += snprintf(buf + k, sizeof buf - (size_t)k, "/..");
		if (k > 0 && (size_t)k < sizeof buf)
			snprintf(buf + k, sizeof buf - (size_t)k, "/tests/data/patch");
		char probe[4200];
		snprintf(probe, sizeof probe, "%s/json-patch-tests.json", buf);
		if (access(probe, R_OK) == 0)
			return buf;
	}
	return NULL;
}

static jl_json_t *load(jl_arena_t *a, const char *name)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = jl_arena_alloc_bytes(a, (size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	jl_json_t *v;
	jl_json_err_t e;
	if (jl_json_parse(a, p, (size_t)n, NULL, &v, &e))
		fail_msg("%s: %s at line %u", path, e.msg, e.line);
	return v;
}

/* Runs one case; returns whether it passed (and prints why not). */
static bool run_case(jl_arena_t *a, patch_fn fn, const char *name, const jl_json_t *doc, const jl_json_t *patch,
		     const jl_json_t *want, bool want_error, bool fhir)
{
	jl_json_t *d = (jl_json_t *)doc;
	jl_diag_t dg;
	jl_diag_init(&dg, a);
	jl_rc rc = fn(a, &d, patch, &dg);
	if (want_error) {
		if (rc == JL_OK) {
			printf("  FAIL %s: applied, but the case expects an error\n", name);
			return false;
		}
		if (d != doc || rc == JL_ENOMEM || dg.n != 1 || !dg.items[0].expr) {
			printf("  FAIL %s: error %s without one located issue, or the document changed\n", name,
			       jl_rc_name(rc));
			return false;
		}
		return true;
	}
	if (rc) {
		printf("  FAIL %s: %s: %s (%s)\n", name, jl_rc_name(rc), dg.n ? dg.items[0].diag : "-",
		       dg.n && dg.items[0].expr ? dg.items[0].expr : "-");
		return false;
	}
	if (!jl_json_equal(d, want)) {
		printf("  FAIL %s\n    got  %s\n    want %s\n", name, show(a, d), show(a, want));
		return false;
	}
	if (fhir) {
		/* The patched resource is still valid FHIR (what the REST layer checks next). */
		jl_diag_t vd;
		jl_diag_init(&vd, a);
		if (jl_fhir_validate(d, NULL, &vd)) {
			printf("  FAIL %s: the result does not validate: %s at %s\n", name,
			       vd.n ? vd.items[0].diag : "-", vd.n && vd.items[0].expr ? vd.items[0].expr : "-");
			return false;
		}
	}
	return true;
}

static int json_pass, json_total, fp_pass, fp_total;

static void test_suite_json_patch(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	const jl_json_t *cases = load(a, "json-patch-tests.json");
	assert_int_equal(cases->type, JL_JSON_ARRAY);
	for (uint32_t i = 0; i < cases->n; i++) {
		const jl_json_t *c = &cases->u.a[i];
		const char *name = jl_arena_strndup(a, jl_json_str(jl_json_get(c, "comment")).p,
						    jl_json_str(jl_json_get(c, "comment")).n);
		json_total++;
		json_pass += run_case(a, jl_patch_json, name, jl_json_get(c, "doc"), jl_json_get(c, "patch"),
				      jl_json_get(c, "expected"), jl_json_get(c, "error") != NULL, false);
	}
	printf("patch suite: JSON Patch %d/%d\n", json_pass, json_total);
	assert_int_equal(json_pass, json_total);
	assert_int_equal(json_total, 16);
	jl_arena_free(a);
}

static void test_suite_fhirpath_patch(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	const jl_json_t *cases = load(a, "fhirpath-patch-tests.json");
	assert_int_equal(cases->type, JL_JSON_ARRAY);
	for (uint32_t i = 0; i < cases->n; i++) {
		const jl_json_t *c = &cases->u.a[i];
		jl_str_t nm = jl_json_str(jl_json_get(c, "name"));
		fp_total++;
		/* Every case is applied forwards: mode "both" also allows a differ to be tested, which we have not. */
		fp_pass += run_case(a, jl_patch_fhirpath, jl_arena_strndup(a, nm.p, nm.n), jl_json_get(c, "input"),
				    jl_json_get(c, "diff"), jl_json_get(c, "output"), jl_json_get(c, "error") != NULL,
				    true);
	}
	printf("patch suite: FHIRPath Patch %d/%d\n", fp_pass, fp_total);
	assert_int_equal(fp_pass, fp_total);
	assert_int_equal(fp_total, 33);
	jl_arena_free(a);
}

/* ------------------------------------------------------------------ JSON Patch: our cases */

static void test_json_copy_and_move(void **state)
{
	(void)state;
	ok(jl_patch_json, "{`a`:{`b`:[1,2]}}", "[{`op`:`copy`,`from`:`/a`,`path`:`/c`}]",
	   "{`a`:{`b`:[1,2]},`c`:{`b`:[1,2]}}");
	/* The copy is independent: editing it leaves the original alone. */
	ok(jl_patch_json, "{`a`:{`b`:[1,2]}}",
	   "[{`op`:`copy`,`from`:`/a`,`path`:`/c`},{`op`:`replace`,`path`:`/c/b/0`,`value`:9},"
	   "{`op`:`add`,`path`:`/c/x`,`value`:true}]",
	   "{`a`:{`b`:[1,2]},`c`:{`b`:[9,2],`x`:true}}");
	ok(jl_patch_json, "{`a`:[1,2,3]}", "[{`op`:`copy`,`from`:`/a/0`,`path`:`/a/-`}]", "{`a`:[1,2,3,1]}");
	ok(jl_patch_json, "{`a`:1}", "[{`op`:`copy`,`from`:``,`path`:`/self`}]", "{`a`:1,`self`:{`a`:1}}");
	ok(jl_patch_json, "{`a`:{`b`:1}}", "[{`op`:`move`,`from`:`/a`,`path`:`/a`}]", "{`a`:{`b`:1}}");
	ok(jl_patch_json, "{`a`:{`b`:1},`c`:{}}", "[{`op`:`move`,`from`:`/a/b`,`path`:`/c/d`}]",
	   "{`a`:{},`c`:{`d`:1}}");
	bad(jl_patch_json, "{`a`:{`b`:1}}", "[{`op`:`move`,`from`:`/a`,`path`:`/a/b/c`}]", JL_EINVALID,
	    "patch[0].path", "own child");
	bad(jl_patch_json, "{`a`:1}", "[{`op`:`copy`,`from`:`/nope`,`path`:`/b`}]", JL_EINVALID, "patch[0].from",
	    "/nope");
}

static void test_json_pointers_and_indexes(void **state)
{
	(void)state;
	ok(jl_patch_json, "{`a/b`:1,`m~n`:2}",
	   "[{`op`:`replace`,`path`:`/a~1b`,`value`:3},{`op`:`remove`,`path`:`/m~0n`}]", "{`a/b`:3}");
	ok(jl_patch_json, "{``:1}", "[{`op`:`replace`,`path`:`/`,`value`:2}]", "{``:2}");
	ok(jl_patch_json, "{`a`:[1,2]}", "[{`op`:`add`,`path`:`/a/2`,`value`:3},{`op`:`add`,`path`:`/a/0`,`value`:0}]",
	   "{`a`:[0,1,2,3]}");
	ok(jl_patch_json, "{`a`:1}", "[{`op`:`replace`,`path`:``,`value`:{`b`:2}}]", "{`b`:2}");
	bad(jl_patch_json, "{`a`:[1,2]}", "[{`op`:`add`,`path`:`/a/3`,`value`:3}]", JL_EINVALID, "patch[0].path",
	    "index");
	bad(jl_patch_json, "{`a`:[1,2]}", "[{`op`:`remove`,`path`:`/a/01`}]", JL_EINVALID, "patch[0].path", NULL);
	bad(jl_patch_json, "{`a`:[1,2]}", "[{`op`:`remove`,`path`:`/a/-`}]", JL_EINVALID, "patch[0].path", NULL);
	bad(jl_patch_json, "{`a`:[1,2]}", "[{`op`:`replace`,`path`:`/a/2`,`value`:0}]", JL_EINVALID, "patch[0].path",
	    NULL);
	bad(jl_patch_json, "{`a`:1}", "[{`op`:`add`,`path`:`/a/b`,`value`:0}]", JL_EINVALID, "patch[0].path",
	    "number");
	bad(jl_patch_json, "{`a`:1}", "[{`op`:`remove`,`path`:`a`}]", JL_EINVAL, "patch[0].path", "JSON Pointer");
	bad(jl_patch_json, "{`a`:1}", "[{`op`:`remove`,`path`:`/a~2`}]", JL_EINVAL, "patch[0].path", "'~'");
	bad(jl_patch_json, "{`a`:1}", "[{`op`:`remove`,`path`:``}]", JL_EINVALID, "patch[0].path", "whole");
}

static void test_json_test_op(void **state)
{
	(void)state;
	/* RFC 6902 4.6: numbers are equal by value, objects regardless of member order. */
	ok(jl_patch_json, "{`n`:1.0,`o`:{`x`:1,`y`:[true,null]}}",
	   "[{`op`:`test`,`path`:`/n`,`value`:1},{`op`:`test`,`path`:`/n`,`value`:10e-1},"
	   "{`op`:`test`,`path`:`/o`,`value`:{`y`:[true,null],`x`:1.00}},{`op`:`test`,`path`:``,"
	   "`value`:{`o`:{`x`:1,`y`:[true,null]},`n`:1}}]",
	   "{`n`:1.0,`o`:{`x`:1,`y`:[true,null]}}");
	ok(jl_patch_json, "{`z`:-0.0}", "[{`op`:`test`,`path`:`/z`,`value`:0}]", "{`z`:-0.0}");
	ok(jl_patch_json, "{`a`:[100,0.0100,12.5,-1.50,1.05,7]}",
	   "[{`op`:`test`,`path`:`/a`,`value`:[1e2,1E-2,125e-1,-15E-1,105e-2,0.7e+1]}]",
	   "{`a`:[100,0.0100,12.5,-1.50,1.05,7]}");
	static const char *const unequal[][2] = {{"10", "1"}, {"0.1", "1"}, {"1.05", "1.5"}, {"-1", "1"},
						 {"1e3", "100"}, {"0", "1e-400"}, {"2.50", "2.05"}};
	jl_arena_t *a = jl_arena_new(0, 0);
	for (size_t i = 0; i < sizeof unequal / sizeof unequal[0]; i++)
		bad(jl_patch_json, jl_arena_printf(a, "{`n`:%s}", unequal[i][0]),
		    jl_arena_printf(a, "[{`op`:`test`,`path`:`/n`,`value`:%s}]", unequal[i][1]), JL_EPRECOND,
		    "patch[0].path", NULL);
	jl_arena_free(a);
	bad(jl_patch_json, "{`n`:100}", "[{`op`:`test`,`path`:`/n`,`value`:1e3}]", JL_EPRECOND, "patch[0].path",
	    "test failed");
	bad(jl_patch_json, "{`o`:{`x`:1}}", "[{`op`:`test`,`path`:`/o`,`value`:{`x`:1,`y`:2}}]", JL_EPRECOND,
	    "patch[0].path", NULL);
	bad(jl_patch_json, "{`o`:1}", "[{`op`:`test`,`path`:`/p`,`value`:1}]", JL_EPRECOND, "patch[0].path", NULL);
}

static void test_json_atomic_and_malformed(void **state)
{
	(void)state;
	/* The first two operations succeed; the third fails: nothing is applied. */
	bad(jl_patch_json, "{`a`:[1]}",
	    "[{`op`:`add`,`path`:`/a/-`,`value`:2},{`op`:`remove`,`path`:`/a/0`},{`op`:`remove`,`path`:`/x`}]",
	    JL_EINVALID, "patch[2].path", "/x");
	bad(jl_patch_json, "{}", "{`op`:`add`}", JL_EINVAL, "patch", "array");
	bad(jl_patch_json, "{}", "[1]", JL_EINVAL, "patch[0]", "object");
	bad(jl_patch_json, "{}", "[{`path`:`/a`}]", JL_EINVAL, "patch[0].op", NULL);
	bad(jl_patch_json, "{}", "[{`op`:`delete`,`path`:`/a`}]", JL_EINVAL, "patch[0].op", "delete");
	bad(jl_patch_json, "{}", "[{`op`:`add`,`value`:1}]", JL_EINVAL, "patch[0].path", NULL);
	bad(jl_patch_json, "{}", "[{`op`:`add`,`path`:`/a`}]", JL_EINVAL, "patch[0].value", NULL);
	bad(jl_patch_json, "{}", "[{`op`:`move`,`path`:`/a`}]", JL_EINVAL, "patch[0].from", NULL);
	/* "value": null is a value. */
	ok(jl_patch_json, "{}", "[{`op`:`add`,`path`:`/a`,`value`:null}]", "{`a`:null}");
}

static void test_json_caps(void **state)
{
	(void)state;
	jl_arena_t *a = jl_arena_new(0, 0);
	/* Doubling the document 40 times would need 2^40 values: refused by the copy budget. */
	jl_buf_t b;
	jl_buf_init(&b, JL_MEM_MISC, 0);
	jl_buf_puts(&b, "[");
	for (int i = 0; i < 40; i++)
		jl_buf_printf(&b, "%s{`op`:`copy`,`from`:``,`path`:`/k%d`}", i ? "," : "", i);
	jl_buf_puts(&b, "]");
	bad(jl_patch_json, "{`a`:[1,2,3,4,5,6,7,8]}", b.p, JL_ETOOBIG, NULL, "too large");
	/* Nesting beyond the cap, one level per operation. */
	jl_buf_clear(&b);
	jl_buf_puts(&b, "[");
	for (int i = 0; i < 140; i++) {
		jl_buf_printf(&b, "%s{`op`:`add`,`path`:`", i ? "," : "");
		for (int k = 0; k < i; k++)
			jl_buf_puts(&b, "/x");
		jl_buf_puts(&b, "/x`,`value`:{}}");
	}
	jl_buf_puts(&b, "]");
	bad(jl_patch_json, "{}", b.p, JL_ETOOBIG, NULL, "nesting");
	/* Too many operations. */
	jl_buf_clear(&b);
	jl_buf_puts(&b, "[");
	for (unsigned i = 0; i <= JL_PATCH_MAX_OPS; i++)
		jl_buf_printf(&b, "%s{`op`:`test`,`path`:``,`value`:{}}", i ? "," : "");
	jl_buf_puts(&b, "]");
	bad(jl_patch_json, "{}", b.p, JL_ETOOBIG, "patch", "at most");
	jl_buf_dispose(&b);
	jl_arena_free(a);
}

/* ------------------------------------------------------------------ FHIRPath Patch: our cases */

static void test_fp_choice_types(void **state)
{
	(void)state;
	const char *obs = "{`resourceType`:`Observation`,`status`:`final`,`code`:{`text`:`bp`}}";
	fok(obs,
	    "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Observation`},"
	    "{`name`:`name`,`valueString`:`value`},{`name`:`value`,`valueQuantity`:{`value`:120,`unit`:`mm[Hg]`}}]",
	    "{`resourceType`:`Observation`,`status`:`final`,`code`:{`text`:`bp`},"
	    "`valueQuantity`:{`value`:120,`unit`:`mm[Hg]`}}");
	/* Replacing a choice with another of its types renames the member. */
	fok("{`resourceType`:`Observation`,`status`:`final`,`code`:{`text`:`bp`},`valueQuantity`:{`value`:1}}",
	    "[{`name`:`type`,`valueCode`:`replace`},{`name`:`path`,`valueString`:`Observation.value`},"
	    "{`name`:`value`,`valueString`:`high`}]",
	    "{`resourceType`:`Observation`,`status`:`final`,`code`:{`text`:`bp`},`valueString`:`high`}");
	fok("{`resourceType`:`Patient`,`deceasedBoolean`:false}",
	    "[{`name`:`type`,`valueCode`:`replace`},{`name`:`path`,`valueString`:`Patient.deceased`},"
	    "{`name`:`value`,`valueDateTime`:`2020-01-02`}]",
	    "{`resourceType`:`Patient`,`deceasedDateTime`:`2020-01-02`}");
	fbad(obs,
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Observation`},"
	     "{`name`:`name`,`valueString`:`value`},{`name`:`value`,`valueAddress`:{`city`:`x`}}]",
	     JL_EINVALID, "Parameters.parameter[0]", "does not allow the type Address");
	fbad(obs,
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Observation`},"
	     "{`name`:`name`,`valueString`:`value`},{`name`:`value`,`part`:[{`name`:`value`,`valueDecimal`:1}]}]",
	     JL_EINVALID, "Parameters.parameter[0]", "choice");
}

static void test_fp_primitive_lists(void **state)
{
	(void)state;
	/* given[1] carries an extension: deleting given[0] keeps "_given" in step. */
	const char *p = "{`resourceType`:`Patient`,`name`:[{`given`:[`a`,`b`,`c`],"
			"`_given`:[null,{`extension`:[{`url`:`http://x`,`valueString`:`e`}]},null]}]}";
	fok(p,
	    "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.name[0].given[0]`}]",
	    "{`resourceType`:`Patient`,`name`:[{`given`:[`b`,`c`],"
	    "`_given`:[{`extension`:[{`url`:`http://x`,`valueString`:`e`}]},null]}]}");
	/* Deleting the one with the extension drops "_given" altogether. */
	fok(p,
	    "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.name[0].given[1]`}]",
	    "{`resourceType`:`Patient`,`name`:[{`given`:[`a`,`c`]}]}");
	fok(p,
	    "[{`name`:`type`,`valueCode`:`move`},{`name`:`path`,`valueString`:`Patient.name[0].given`},"
	    "{`name`:`source`,`valueInteger`:1},{`name`:`destination`,`valueInteger`:2}]",
	    "{`resourceType`:`Patient`,`name`:[{`given`:[`a`,`c`,`b`],"
	    "`_given`:[null,null,{`extension`:[{`url`:`http://x`,`valueString`:`e`}]}]}]}");
	fok(p,
	    "[{`name`:`type`,`valueCode`:`insert`},{`name`:`path`,`valueString`:`Patient.name[0].given`},"
	    "{`name`:`index`,`valueInteger`:0},{`name`:`value`,`valueString`:`z`}]",
	    "{`resourceType`:`Patient`,`name`:[{`given`:[`z`,`a`,`b`,`c`],"
	    "`_given`:[null,null,{`extension`:[{`url`:`http://x`,`valueString`:`e`}]},null]}]}");
	/* A value with its own "_value[x]" brings its extension along. */
	fok("{`resourceType`:`Patient`,`name`:[{`given`:[`a`]}]}",
	    "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient.name[0]`},"
	    "{`name`:`name`,`valueString`:`given`},{`name`:`value`,`valueString`:`b`,`_valueString`:{`id`:`g2`}}]",
	    "{`resourceType`:`Patient`,`name`:[{`given`:[`a`,`b`],`_given`:[null,{`id`:`g2`}]}]}");
	/* Deleting the only item removes the list; its parent object, now empty, goes too. */
	fok("{`resourceType`:`Patient`,`active`:true,`name`:[{`given`:[`a`]}]}",
	    "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.name.given`}]",
	    "{`resourceType`:`Patient`,`active`:true}");
}

static void test_fp_primitive_extensions(void **state)
{
	(void)state;
	const char *ext_parts = "{`name`:`value`,`part`:[{`name`:`url`,`valueUri`:`http://e`},"
				"{`name`:`value`,`valueString`:`v`}]}";
	jl_arena_t *a = jl_arena_new(0, 0);
	fok("{`resourceType`:`Patient`,`birthDate`:`2000-01-01`}",
	    jl_arena_printf(a,
			    "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient.birthDate`},"
			    "{`name`:`name`,`valueString`:`extension`},%s]",
			    ext_parts),
	    "{`resourceType`:`Patient`,`birthDate`:`2000-01-01`,"
	    "`_birthDate`:{`extension`:[{`url`:`http://e`,`valueString`:`v`}]}}");
	/* Deleting the last extension of a primitive drops its "_name" object. */
	fok("{`resourceType`:`Patient`,`birthDate`:`2000-01-01`,`_birthDate`:{`extension`:[{`url`:`http://e`,"
	    "`valueString`:`v`}]}}",
	    "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,"
	    "`valueString`:`Patient.birthDate.extension.where(url='http://e')`}]",
	    "{`resourceType`:`Patient`,`birthDate`:`2000-01-01`}");
	/* A primitive with only an extension can be deleted whole. */
	fok("{`resourceType`:`Patient`,`active`:true,`_birthDate`:{`extension`:[{`url`:`http://e`,`valueString`:`v`}]}}",
	    "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.birthDate`}]",
	    "{`resourceType`:`Patient`,`active`:true}");
	fbad("{`resourceType`:`Patient`,`birthDate`:`2000-01-01`}",
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient.birthDate`},"
	     "{`name`:`name`,`valueString`:`text`},{`name`:`value`,`valueString`:`x`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "primitive");
	jl_arena_free(a);
}

static void test_fp_paths_and_counts(void **state)
{
	(void)state;
	const char *p = "{`resourceType`:`Patient`,`identifier`:[{`use`:`official`,`value`:`1`},{`value`:`2`}]}";
	/* delete of nothing is not an error */
	fok(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.birthDate`}]", p);
	fok(p,
	    "[{`name`:`type`,`valueCode`:`replace`},{`name`:`path`,"
	    "`valueString`:`Patient.identifier.where(use='official').value`},{`name`:`value`,`valueString`:`9`}]",
	    "{`resourceType`:`Patient`,`identifier`:[{`use`:`official`,`value`:`9`},{`value`:`2`}]}");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.identifier`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "matches 2 elements");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`replace`},{`name`:`path`,`valueString`:`Patient.gender`},"
	     "{`name`:`value`,`valueCode`:`male`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "No content found at Patient.gender");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient`}]", JL_EINVALID,
	     "Parameters.parameter[0]", "resource itself");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.identifier.count()`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "computed value");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.nonsense`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "nonsense");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient.(`}]", JL_EINVAL,
	     "Parameters.parameter[0]", "FHIRPath");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient.identifier[1]`},"
	     "{`name`:`name`,`valueString`:`value`},{`name`:`value`,`valueString`:`3`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "use replace");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`insert`},{`name`:`path`,`valueString`:`Patient.identifier`},"
	     "{`name`:`index`,`valueInteger`:3},{`name`:`value`,`valueIdentifier`:{`value`:`3`}}]",
	     JL_EINVALID, "Parameters.parameter[0]", "out of range");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`insert`},{`name`:`path`,`valueString`:`Patient.gender`},"
	     "{`name`:`index`,`valueInteger`:0},{`name`:`value`,`valueCode`:`male`}]",
	     JL_EINVALID, "Parameters.parameter[0]", "not a list");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`move`},{`name`:`path`,`valueString`:`Patient.identifier`},"
	     "{`name`:`source`,`valueInteger`:0},{`name`:`destination`,`valueInteger`:2}]",
	     JL_EINVALID, "Parameters.parameter[0]", "below 2");
	/* insert into an absent list at 0 creates it */
	fok("{`resourceType`:`Patient`}",
	    "[{`name`:`type`,`valueCode`:`insert`},{`name`:`path`,`valueString`:`Patient.identifier`},"
	    "{`name`:`index`,`valueInteger`:0},{`name`:`value`,`valueIdentifier`:{`value`:`3`}}]",
	    "{`resourceType`:`Patient`,`identifier`:[{`value`:`3`}]}");
	/* contained resources are reached and typed by their resourceType */
	fok("{`resourceType`:`Patient`,`contained`:[{`resourceType`:`Organization`,`id`:`o`,`name`:`A`}]}",
	    "[{`name`:`type`,`valueCode`:`replace`},{`name`:`path`,"
	    "`valueString`:`Patient.contained.ofType(Organization).name`},{`name`:`value`,`valueString`:`B`}]",
	    "{`resourceType`:`Patient`,`contained`:[{`resourceType`:`Organization`,`id`:`o`,`name`:`B`}]}");
}

static void test_fp_malformed(void **state)
{
	(void)state;
	const char *p = "{`resourceType`:`Patient`}";
	fbad(p, "[{`name`:`type`,`valueCode`:`frobnicate`},{`name`:`path`,`valueString`:`Patient`}]", JL_EINVAL,
	     "Parameters.parameter[0].part[0]", "frobnicate");
	fbad(p, "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient`}]", JL_EINVAL,
	     "Parameters.parameter[0]", "name part");
	fbad(p, "[{`name`:`path`,`valueString`:`Patient`}]", JL_EINVAL, "Parameters.parameter[0]", "type");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,`valueString`:`Patient`},{`name`:`path`,`valueString`:`Patient`}]",
	     JL_EINVAL, "Parameters.parameter[0].part[2]", "twice");
	fbad(p, "[{`name`:`type`,`valueCode`:`delete`},{`name`:`colour`,`valueString`:`red`}]", JL_EINVAL,
	     "Parameters.parameter[0].part[1]", "colour");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`insert`},{`name`:`path`,`valueString`:`Patient.name`},"
	     "{`name`:`index`,`valueInteger`:-1},{`name`:`value`,`valueHumanName`:{}}]",
	     JL_EINVAL, "Parameters.parameter[0].part[2]", "0 or more");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient`},"
	     "{`name`:`name`,`valueString`:`gender`},{`name`:`value`}]",
	     JL_EINVAL, "Parameters.parameter[0].part[3]", "no value");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient`},"
	     "{`name`:`name`,`valueString`:`contact`},{`name`:`value`,`part`:[{`name`:`colour`,`valueString`:`x`}]}]",
	     JL_EINVALID, "Parameters.parameter[0].part[3].part[0]", "Patient.contact has no element");
	fbad(p,
	     "[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,`valueString`:`Patient`},"
	     "{`name`:`name`,`valueString`:`gender`},{`name`:`value`,`valueWidget`:`x`}]",
	     JL_EINVAL, "Parameters.parameter[0].part[3]", "Widget");
	jl_arena_t *a = jl_arena_new(0, 0);
	bad(jl_patch_fhirpath, p, "{`resourceType`:`Bundle`}", JL_EINVAL, "Parameters", NULL);
	bad(jl_patch_fhirpath, p, "{`resourceType`:`Parameters`,`parameter`:[{`name`:`op`}]}", JL_EINVAL,
	    "Parameters.parameter[0]", "operation");
	jl_arena_free(a);
	/* Later operations see earlier ones; a failure undoes them all. */
	bad(jl_patch_fhirpath, p,
	    "{`resourceType`:`Parameters`,`parameter`:[{`name`:`operation`,`part`:[{`name`:`type`,`valueCode`:`add`},"
	    "{`name`:`path`,`valueString`:`Patient`},{`name`:`name`,`valueString`:`active`},{`name`:`value`,"
	    "`valueBoolean`:true}]},{`name`:`operation`,`part`:[{`name`:`type`,`valueCode`:`add`},"
	    "{`name`:`path`,`valueString`:`Patient`},{`name`:`name`,`valueString`:`active`},{`name`:`value`,"
	    "`valueBoolean`:false}]}]}",
	    JL_EINVALID, "Parameters.parameter[1]", "already has active");
}

/* Out of memory at each allocation in turn: JL_ENOMEM or success, never a crash or a wrong answer. */
static void test_alloc_failure(void **state)
{
	(void)state;
	const char *doc = "{`resourceType`:`Patient`,`name`:[{`given`:[`a`,`b`],`_given`:[null,{`id`:`x`}]}],"
			  "`birthDate`:`2000-01-01`}";
	const char *fp = "{`resourceType`:`Parameters`,`parameter`:["
			 "{`name`:`operation`,`part`:[{`name`:`type`,`valueCode`:`insert`},{`name`:`path`,"
			 "`valueString`:`Patient.name[0].given`},{`name`:`index`,`valueInteger`:1},{`name`:`value`,"
			 "`valueString`:`c`}]},"
			 "{`name`:`operation`,`part`:[{`name`:`type`,`valueCode`:`add`},{`name`:`path`,"
			 "`valueString`:`Patient`},{`name`:`name`,`valueString`:`contact`},{`name`:`value`,"
			 "`part`:[{`name`:`gender`,`valueCode`:`male`}]}]},"
			 "{`name`:`operation`,`part`:[{`name`:`type`,`valueCode`:`delete`},{`name`:`path`,"
			 "`valueString`:`Patient.birthDate`}]}]}";
	const char *jp = "[{`op`:`add`,`path`:`/name/0/given/-`,`value`:`c`},{`op`:`copy`,`from`:`/name`,"
			 "`path`:`/n2`},{`op`:`test`,`path`:`/n2/0/given/2`,`value`:`c`}]";
	int ok_fp = 0, ok_jp = 0;
	for (int k = 0; k < 400; k++) {
		jl_arena_t *in = jl_arena_new(0, 0);
		jl_json_t *fpv = parse(in, fp), *jpv = parse(in, jp);
		for (int which = 0; which < 2; which++) {
			jl_json_t *d = parse(in, doc), *orig = d;
			jl_arena_t *a = jl_arena_new(64, 0);
			assert_non_null(a);
			jl_diag_t dg;
			jl_diag_init(&dg, a);
			jl_mem_fail_after(k, 1);
			jl_rc rc = which ? jl_patch_json(a, &d, jpv, &dg) : jl_patch_fhirpath(a, &d, fpv, &dg);
			int64_t failures = jl_mem_failures();
			jl_mem_fail_after(-1, 0);
			if (failures) {
				if (rc != JL_ENOMEM && rc != JL_OK)
					fail_msg("allocation %d failed: got %s, not ENOMEM", k, jl_rc_name(rc));
				if (rc)
					assert_ptr_equal(d, orig);
			} else {
				assert_int_equal(rc, JL_OK);
				*(which ? &ok_jp : &ok_fp) += 1;
			}
			jl_arena_free(a);
		}
		jl_arena_free(in);
	}
	/* The loop went past the last allocation of both. */
	assert_true(ok_fp > 0 && ok_jp > 0);
}

int main(int argc, char **argv)
{
	data_dir = find_data_dir(argv[0]);
	if (!data_dir) {
		printf("not ok - tests/data/patch not found (run from the repository root)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_json_patch),
		cmocka_unit_test(test_suite_fhirpath_patch),
		cmocka_unit_test(test_json_copy_and_move),
		cmocka_unit_test(test_json_pointers_and_indexes),
		cmocka_unit_test(test_json_test_op),
		cmocka_unit_test(test_json_atomic_and_malformed),
		cmocka_unit_test(test_json_caps),
		cmocka_unit_test(test_fp_choice_types),
		cmocka_unit_test(test_fp_primitive_lists),
		cmocka_unit_test(test_fp_primitive_extensions),
		cmocka_unit_test(test_fp_paths_and_counts),
		cmocka_unit_test(test_fp_malformed),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
