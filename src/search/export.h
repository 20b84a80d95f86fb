/*
 * export — the bulk export engine (FHIR Bulk Data Access IG): streams the
 * current versions an export selects — the whole store, the Patient
 * compartment of every patient, or that of a Group's member patients —
 * from one store snapshot into NDJSON files, one series per type, split at
 * a size limit. rest/bulk.c runs it for `$export` jobs, cli/export.c for
 * `jianlian export`. Memory is bounded by design: one resource and one
 * write buffer at a time, whatever the size of the data.
 *
 * Thread-safety: jl_export_run may run on several threads at once (each
 * with its own spec, arena and directory).
 */
#ifndef JL_SEARCH_EXPORT_H
#define JL_SEARCH_EXPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "search/query.h"
#include "store/store.h"

#define JL_EXPORT_MAX_FILTERS 64  /* _typeFilter queries of one export */
#define JL_EXPORT_MAX_ELEMENTS 256 /* _elements entries of one export */

typedef enum jl_export_level {
	JL_EXPORT_SYSTEM = 1, /* every resource of the types asked for */
	JL_EXPORT_PATIENT,    /* the Patient compartment of every live patient */
	JL_EXPORT_GROUP,      /* the Patient compartment of a Group's member patients (member.entity) */
} jl_export_level;

typedef struct jl_export_progress {
	int64_t done;        /* resources written so far */
	int64_t estimate;    /* live resources of the types asked for: an upper bound when filtered */
	jl_str_t type;       /* the type being written (empty before the first) */
} jl_export_progress_t;

/*
 * One _typeFilter query ("MedicationRequest?status=active"), parsed: its
 * type and the search conditions (AND of ORs) a resource of it must meet.
 * The queries of one type are OR'ed; a type with a filter is exported
 * only through its filters.
 */
typedef struct jl_export_filter {
	jl_str_t type;
	const jl_sq_cond_t *conds;
	uint32_t nconds;
} jl_export_filter_t;

/* One _elements entry: "Patient.name" (type "Patient") or "status" (type empty: every type that has it). */
typedef struct jl_export_element {
	jl_str_t type;
	jl_str_t name;
} jl_export_element_t;

typedef struct jl_export_spec {
	uint8_t level;             /* jl_export_level */
	jl_str_t group_id;         /* GROUP: the Group's logical id */
	const jl_str_t *types;     /* _type, checked by jl_export_check_types; NULL: every type of the level */
	uint32_t ntypes;
	int64_t since_us;          /* _since: resources last updated at or after this instant (0: all) */
	const jl_export_filter_t *filters; /* _typeFilter (jl_export_parse_filters); their types are exported */
	uint32_t nfilters;         /*   even when _type does not list them, only through the filters */
	const jl_export_element_t *elements; /* _elements (jl_export_parse_elements): a type some entry */
	uint32_t nelements;        /*   applies to keeps those and its mandatory elements, tagged SUBSETTED */
	const char *const *notes;  /* warnings (lenient handling), one OperationOutcome line each in the error series */
	uint32_t nnotes;
	const char *dir;           /* output directory: exists, writable, holds no file of the names written */
	uint64_t max_file_bytes;   /* a type's output is split into files of at most this size (0: 1 GiB) */
	bool sync;                 /* fsync each file and the directory before returning */
	/* Called every few thousand resources and at each new type, on the exporting thread. */
	void (*progress)(void *arg, const jl_export_progress_t *p);
	void *progress_arg;
	const atomic_bool *cancel; /* becomes true: the export stops with JL_EBUSY (NULL: never) */
} jl_export_spec_t;

typedef struct jl_export_file {
	const char *type;          /* resource type; "OperationOutcome" for error files */
	const char *name;          /* file name in spec->dir, e.g. "Observation-2.ndjson" */
	int64_t count;             /* resources (lines) in it */
	int64_t bytes;
} jl_export_file_t;

typedef struct jl_export_result {
	int64_t snapshot_us;       /* the snapshot's newest instant: the manifest's transactionTime */
	jl_export_file_t *files;   /* output files, by type then number (arena-owned) */
	size_t nfiles;
	jl_export_file_t *errors;  /* OperationOutcome NDJSON: one line per resource that could not be exported */
	size_t nerrors;
	int64_t resources;         /* resources exported */
	int64_t problems;          /* resources left out (damaged stored bodies), each with an error line */
} jl_export_result_t;

/*
 * _since: a FHIR instant — date, time to the second at least, and a time
 * zone ("2024-05-01T08:00:00+08:00"). Sets *us to its first microsecond.
 */
bool jl_export_parse_since(jl_str_t s, int64_t *us);
/* Splits a _type value on commas (spaces around names ignored) into arena memory; JL_EINVAL on an empty name. */
jl_rc jl_export_split_types(jl_arena_t *a, jl_str_t list, jl_str_t **out, uint32_t *n) JL_MUST_USE;

/*
 * Checks a _type list for a level: every name must be a FHIR R4 resource
 * type, given once; at Patient and Group level also a type of the Patient
 * compartment. Each problem is an issue in d with expression "_type".
 * JL_EINVAL when there is any.
 */
jl_rc jl_export_check_types(uint8_t level, const jl_str_t *types, uint32_t n, jl_diag_t *d) JL_MUST_USE;

/*
 * Parses one _typeFilter value and appends its queries to *out (*n of them
 * so far, arena memory). A value holds one or more queries "Type?params"
 * separated by commas; a comma followed by "Type?" starts the next query,
 * so a search value may still list alternatives ("status=active,draft").
 * The parameters are percent-decoded once more (the IG has clients encode
 * each query), then parsed as a search on Type (search/query.c): search
 * result parameters (_sort, _include, _count, _elements …) are refused.
 * The type must be a FHIR R4 resource type, in the Patient compartment at
 * the Patient and Group levels.
 *
 * strict: each problem is an error issue in d with expression
 * "_typeFilter" that quotes the query, and JL_EINVAL. Lenient: problems
 * are warnings; a query whose type is unusable is dropped, an unusable
 * parameter skipped (so the filter selects more, never less). JL_ETOOBIG
 * past JL_EXPORT_MAX_FILTERS queries; JL_ENOMEM.
 */
jl_rc jl_export_parse_filters(jl_arena_t *a, uint8_t level, jl_str_t value, bool strict, const jl_search_cfg_t *cfg,
			      jl_export_filter_t **out, uint32_t *n, jl_diag_t *d) JL_MUST_USE;

/*
 * Parses one _elements value (comma-separated "Type.element" or "element",
 * root elements only) and appends to *out (*n so far). Each entry must name
 * an element of its type (of some resource type when bare); problems are
 * errors in d with expression "_elements" (strict, JL_EINVAL) or warnings
 * with the entry left out (lenient). JL_ETOOBIG, JL_ENOMEM.
 */
jl_rc jl_export_parse_elements(jl_arena_t *a, jl_str_t value, bool strict, jl_export_element_t **out, uint32_t *n,
			       jl_diag_t *d) JL_MUST_USE;

/*
 * Runs an export into spec->dir. On JL_OK, out lists the files written
 * (arena-owned); files are complete, and fsync'd with spec->sync. On
 * failure the files written so far are left for the caller to remove
 * (their names are in out as far as it got) and d says why: JL_ENOTFOUND /
 * JL_EGONE (the Group), JL_EIO (file system or store), JL_EBUSY
 * (cancelled), JL_ENOMEM, JL_ETOOBIG.
 */
jl_rc jl_export_run(jl_store_t *s, jl_arena_t *a, const jl_export_spec_t *spec, jl_export_result_t *out,
		    jl_diag_t *d) JL_MUST_USE;

/*
 * Appends the completion manifest of the IG to b: transactionTime (the
 * snapshot), request, requiresAccessToken false, output [{type, url,
 * count}], error [{type "OperationOutcome", url, count}]. Each url is
 * url_prefix followed by the file name ("" for names relative to the
 * manifest's directory). JL_ENOMEM / JL_ETOOBIG from the buffer.
 */
jl_rc jl_export_manifest(jl_buf_t *b, const jl_export_result_t *r, jl_str_t request, jl_str_t url_prefix)
	JL_MUST_USE;

#endif
