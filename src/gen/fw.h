/*
 * fw — small writers for the FHIR shapes the generator emits again and again
 * (references, codings, identifiers, dates, quantities, addresses), on top
 * of the streaming JSON writer. Dates are day numbers (days since
 * 1970-01-01); times are written in China Standard Time (+08:00).
 */
#ifndef JL_GEN_FW_H
#define JL_GEN_FW_H

#include "base/json.h"

#define SYS_ICD10 "http://hl7.org/fhir/sid/icd-10"
#define SYS_LOINC "http://loinc.org"
#define SYS_UCUM "http://unitsofmeasure.org"
#define SYS_SCT "http://snomed.info/sct"
#define SYS_ATC "http://www.whocc.no/atc"
#define SYS_CVX "http://hl7.org/fhir/sid/cvx"
#define SYS_ACT "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define SYS_OBSCAT "http://terminology.hl7.org/CodeSystem/observation-category"
#define SYS_CNID "urn:oid:2.16.156.10011.1.3"
#define SYS_EHR "urn:oid:2.16.156.10011.1.2"

typedef struct jl_ymd {
	int y, m, d;
} jl_ymd_t;

jl_ymd_t jl_ymd(int day);
int jl_day(int y, int m, int d);
/* Writes "YYYY-MM-DD" into out (>= 11 bytes). */
void jl_fmt_date(int day, char *out);

void fw_key_str(jl_jw_t *w, const char *k, const char *v);
void fw_key_date(jl_jw_t *w, const char *k, int day);
/* dateTime at minute `min` of the day, +08:00. */
void fw_key_dt(jl_jw_t *w, const char *k, int day, int min);
void fw_ref(jl_jw_t *w, const char *k, const char *type, const char *id);
/* {"system","code","display"} as a value (display may be NULL). */
void fw_coding(jl_jw_t *w, const char *sys, const char *code, const char *display);
/* "k": CodeableConcept with one coding (and text = display). */
void fw_cc(jl_jw_t *w, const char *k, const char *sys, const char *code, const char *display);
/* "k": [CodeableConcept] with one coding. */
void fw_cc_arr(jl_jw_t *w, const char *k, const char *sys, const char *code, const char *display);
/* Identifier value (use may be NULL). */
void fw_ident(jl_jw_t *w, const char *use, const char *sys, const char *value);
void fw_period(jl_jw_t *w, const char *k, int start, int end); /* end 0 = open */
/* Decimal with `dec` digits after the point. */
void fw_num(jl_jw_t *w, double v, int dec);
/* "k": Quantity with UCUM unit. */
void fw_qty(jl_jw_t *w, const char *k, double v, int dec, const char *unit);
/* Resource header: {"resourceType":T,"id":ID */
void fw_begin(jl_jw_t *w, const char *type, const char *id);

#endif
