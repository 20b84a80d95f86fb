/*
 * err — the one result-code enum of the program, and the diagnostic record
 * (a list of FHIR-style issues) that travels with a failed call.
 *
 * Every fallible function returns a jl_rc. Details that a human must read —
 * which element, what is wrong — go into a jl_diag_t the caller passes down.
 * Only rest/ turns codes and diagnostics into HTTP status and
 * OperationOutcome; nothing below it knows about HTTP.
 */
#ifndef JL_BASE_ERR_H
#define JL_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define JL_MUST_USE __attribute__((warn_unused_result))
#define JL_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum jl_rc {
	JL_OK = 0,
	JL_ENOMEM,      /* allocation failed or an arena cap was hit */
	JL_EINVAL,      /* malformed input (syntax) */
	JL_EINVALID,    /* well-formed input that breaks the rules (FHIR validation) */
	JL_ENOTFOUND,   /* no such resource, version or route */
	JL_EGONE,       /* the resource is deleted */
	JL_ECONFLICT,   /* version conflict detected from the body */
	JL_EPRECOND,    /* a precondition (If-Match) failed */
	JL_ETOOBIG,     /* a cap was exceeded (body, depth, count) */
	JL_EUNSUPPORTED,/* media type or feature we do not support */
	JL_EMETHOD,     /* method not allowed on this target */
	JL_ENOTACCEPT,  /* no acceptable representation */
	JL_EBUSY,       /* the store is busy or shutting down */
	JL_ETIMEOUT,    /* the per-request deadline passed */
	JL_EIO,         /* storage or OS failure */
	JL_EINTERNAL,   /* a bug: a state our own code should never reach */
	JL_ESTALE,      /* the caller's view of the current version is out of date: re-read and retry */
	JL_EGONECURSOR, /* a paging cursor expired or is unknown */
	JL_EFORBIDDEN,  /* the caller may not do this */
	JL_RC_COUNT
} jl_rc;

/* Short stable name of a code, e.g. "ENOTFOUND"; never NULL. */
const char *jl_rc_name(jl_rc rc);

/* Severity and code of one issue, as in FHIR OperationOutcome.issue. */
typedef enum jl_sev { JL_SEV_FATAL, JL_SEV_ERROR, JL_SEV_WARNING, JL_SEV_INFO } jl_sev;
const char *jl_sev_name(jl_sev s);

typedef struct jl_issue {
	jl_sev sev;
	const char *code; /* FHIR issue-type code: "structure", "required", "value", "invalid", "code-invalid",
	                     "not-found", "deleted", "conflict", "too-long", "not-supported", "exception",
	                     "processing", "informational", "timeout", "security", "duplicate" ... (static) */
	char *diag;       /* human text (owned by the diag's arena) */
	char *expr;       /* FHIRPath of the element, or NULL */
} jl_issue_t;

struct jl_arena;

/*
 * A list of issues. Allocation comes from the arena given at init; if that
 * fails the list keeps what it has and sets `truncated` — reporting never
 * turns into a second error. At most `max` issues are kept (default 100).
 */
typedef struct jl_diag {
	struct jl_arena *arena;
	jl_issue_t *items;
	size_t n, cap, max;
	int truncated;
	int nerrors; /* issues of severity fatal or error */
} jl_diag_t;

void jl_diag_init(jl_diag_t *d, struct jl_arena *a);
/* Adds an issue. expr may be NULL. Formats with printf rules. */
void jl_diag_add(jl_diag_t *d, jl_sev sev, const char *code, const char *expr, const char *fmt, ...)
	JL_PRINTF(5, 6);
void jl_diag_vadd(jl_diag_t *d, jl_sev sev, const char *code, const char *expr, const char *fmt,
		  va_list ap);
/* Shorthand for an error issue. */
#define jl_diag_err(d, code, expr, ...) jl_diag_add((d), JL_SEV_ERROR, (code), (expr), __VA_ARGS__)

/* Unrecoverable: prints file, line and message, then aborts. Start-up code only. */
_Noreturn void jl__fatal(const char *file, int line, const char *fmt, ...) JL_PRINTF(3, 4);
#define jl_fatal(...) jl__fatal(__FILE__, __LINE__, __VA_ARGS__)

#endif
