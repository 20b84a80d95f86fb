/*
 * alloc — the one thin wrapper every heap allocation goes through.
 *
 * Bytes are counted per subsystem (atomically; shown on /metrics), and a
 * test can make the Nth allocation fail to prove that library-like modules
 * return JL_ENOMEM instead of crashing. Raw malloc is banned outside base/.
 */
#ifndef JL_BASE_ALLOC_H
#define JL_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

typedef enum jl_mem_sub {
	JL_MEM_MISC = 0,
	JL_MEM_ARENA,   /* request and long-lived arenas */
	JL_MEM_JSON,    /* parser scratch */
	JL_MEM_STORE,   /* storage buffers, queues */
	JL_MEM_HTTP,    /* response bodies handed to the HTTP library */
	JL_MEM_COUNT
} jl_mem_sub;

/* Each returns NULL on failure (or injected failure). Thread-safe. */
void *jl_malloc(jl_mem_sub sub, size_t n);
void *jl_calloc(jl_mem_sub sub, size_t n, size_t size);
void *jl_realloc(jl_mem_sub sub, void *p, size_t n);
void jl_free(jl_mem_sub sub, void *p);
char *jl_strndup(jl_mem_sub sub, const char *s, size_t n);

/* Bytes currently allocated by a subsystem. */
int64_t jl_mem_used(jl_mem_sub sub);
const char *jl_mem_sub_name(jl_mem_sub sub);

/*
 * Fault injection for tests: after `n` more successful allocations the next
 * one fails (and, if `sticky`, every one after it). n < 0 disables.
 */
void jl_mem_fail_after(int64_t n, int sticky);
/* Number of allocations injected as failures since the last jl_mem_fail_after. */
int64_t jl_mem_failures(void);

#endif
