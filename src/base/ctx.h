/*
 * ctx — the request context every layer receives: who is asking, for which
 * institution, why, under which request id, by when it must be done, and
 * the arena that owns everything the request allocates.
 *
 * Before authorisation exists the identity comes from headers the
 * institution's gateway sets (see docs/api.md); the fields stay the same
 * when OAuth2 tokens replace them, so audit and consent plug in here.
 * Never put personal data of patients in a context: it is logged.
 */
#ifndef JL_BASE_CTX_H
#define JL_BASE_CTX_H

#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"

typedef struct jl_reqctx {
	char request_id[65];   /* client's X-Request-Id when safe, else generated */
	jl_str_t client;       /* client system or user id ("anonymous" when unknown) */
	jl_str_t institution;  /* the institution the client acts for (empty when unknown) */
	jl_str_t purpose;      /* purpose of use (HL7 v3 PurposeOfUse code, e.g. TREAT) */
	int64_t start_ns;      /* monotonic start */
	int64_t deadline_ns;   /* monotonic deadline (0 = none) */
	jl_arena_t *arena;     /* owns the request's memory */
} jl_reqctx_t;

#endif
