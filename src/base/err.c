/*
 * err — result-code names and the issue list.
 */
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/arena.h"

static const char *const rc_names[JL_RC_COUNT] = {
	"OK",        "ENOMEM",    "EINVAL",   "EINVALID", "ENOTFOUND", "EGONE",
	"ECONFLICT", "EPRECOND",  "ETOOBIG",  "EUNSUPPORTED", "EMETHOD", "ENOTACCEPT",
	"EBUSY",     "ETIMEOUT",  "EIO",      "EINTERNAL", "ESTALE", "EGONECURSOR", "EFORBIDDEN",
};

const char *jl_rc_name(jl_rc rc)
{
	return (unsigned)rc < JL_RC_COUNT ? rc_names[rc] : "E?";
}

const char *jl_sev_name(jl_sev s)
{
	switch (s) {
	case JL_SEV_FATAL: return "fatal";
	case JL_SEV_ERROR: return "error";
	case JL_SEV_WARNING: return "warning";
	default: return "information";
	}
}

void jl_diag_init(jl_diag_t *d, jl_arena_t *a)
{
	d->arena = a;
	d->items = NULL;
	d->n = d->cap = 0;
	d->max = 100;
	d->truncated = 0;
	d->nerrors = 0;
}

void jl_diag_vadd(jl_diag_t *d, jl_sev sev, const char *code, const char *expr, const char *fmt,
		  va_list ap)
{
	if (sev <= JL_SEV_ERROR)
		d->nerrors++;
	if (d->n >= d->max) {
		d->truncated = 1;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		jl_issue_t *it = jl_arena_alloc(d->arena, cap * sizeof *it);
		if (!it) {
			d->truncated = 1;
			return;
		}
		if (d->n)
			memcpy(it, d->items, d->n * sizeof *it);
		d->items = it;
		d->cap = cap;
	}
	jl_issue_t *i = &d->items[d->n];
	i->sev = sev;
	i->code = code;
	i->diag = jl_arena_vprintf(d->arena, fmt, ap);
	i->expr = expr ? jl_arena_strdup(d->arena, expr) : NULL;
	if (!i->diag) {
		d->truncated = 1;
		return;
	}
	d->n++;
}

void jl_diag_add(jl_diag_t *d, jl_sev sev, const char *code, const char *expr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	jl_diag_vadd(d, sev, code, expr, fmt, ap);
	va_end(ap);
}

void jl__fatal(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "jianlian: fatal at %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}
