/*
 * arena — region allocation with a clear lifetime (one request, one import
 * batch, the server's start-up tables). Everything allocated from an arena
 * is released at once by jl_arena_free/jl_arena_reset; cleanup callbacks
 * release what is not memory (statements, files).
 *
 * An arena is not thread-safe: one owner thread at a time. An arena may carry
 * a cap on its total size (a request's arena does); past the cap allocation
 * returns NULL, which callers report as JL_ENOMEM / JL_ETOOBIG.
 */
#ifndef JL_BASE_ARENA_H
#define JL_BASE_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/str.h"

typedef struct jl_arena jl_arena_t;

/* New arena whose blocks are at least `block` bytes (0 = 16 KiB); cap 0 = none. NULL on ENOMEM. */
jl_arena_t *jl_arena_new(size_t block, size_t cap);
/* Runs cleanups (last registered first) and frees every block. NULL is a no-op. */
void jl_arena_free(jl_arena_t *a);
/* Runs cleanups and forgets all allocations but keeps the first block for reuse. */
void jl_arena_reset(jl_arena_t *a);

/* Aligned (16) allocation; NULL when out of memory or over the cap. */
void *jl_arena_alloc(jl_arena_t *a, size_t n);
/* Unaligned allocation for bytes (strings); cheaper packing. */
void *jl_arena_alloc_bytes(jl_arena_t *a, size_t n);
void *jl_arena_calloc(jl_arena_t *a, size_t n, size_t size);
/* Copies n bytes and adds a NUL; NULL on ENOMEM. */
char *jl_arena_strndup(jl_arena_t *a, const char *s, size_t n);
char *jl_arena_strdup(jl_arena_t *a, const char *s);
char *jl_arena_printf(jl_arena_t *a, const char *fmt, ...) JL_PRINTF(2, 3);
char *jl_arena_vprintf(jl_arena_t *a, const char *fmt, va_list ap);
jl_str_t jl_arena_str(jl_arena_t *a, jl_str_t s);

/* Registers fn(arg) to run when the arena is freed or reset. JL_ENOMEM on failure. */
jl_rc jl_arena_on_free(jl_arena_t *a, void (*fn)(void *), void *arg) JL_MUST_USE;

/* Bytes handed out so far (for caps and metrics). */
size_t jl_arena_used(const jl_arena_t *a);

#endif
