/*
 * alloc — counted allocation with fault injection. A small header before
 * each block records its size so that free can subtract it; 16 bytes keep
 * the user pointer aligned for any type.
 */
#include "base/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16

static _Atomic int64_t used[JL_MEM_COUNT];
static _Atomic int64_t fail_countdown = -1;
static _Atomic int fail_sticky;
static _Atomic int64_t fail_count;

static const char *const sub_names[JL_MEM_COUNT] = {"misc", "arena", "json", "store", "http"};

static int should_fail(void)
{
	int64_t c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	if (c < 0)
		return 0;
	if (c == 0) {
		if (!atomic_load(&fail_sticky))
			atomic_store(&fail_countdown, -1);
		atomic_fetch_add(&fail_count, 1);
		return 1;
	}
	atomic_fetch_sub(&fail_countdown, 1);
	return 0;
}

void *jl_malloc(jl_mem_sub sub, size_t n)
{
	if (n > SIZE_MAX - HDR || should_fail())
		return NULL;
	unsigned char *p = malloc(n + HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof n);
	atomic_fetch_add_explicit(&used[sub], (int64_t)n, memory_order_relaxed);
	return p + HDR;
}

void *jl_calloc(jl_mem_sub sub, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = jl_malloc(sub, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *jl_realloc(jl_mem_sub sub, void *p, size_t n)
{
	if (!p)
		return jl_malloc(sub, n);
	if (n > SIZE_MAX - HDR || should_fail())
		return NULL;
	unsigned char *b = (unsigned char *)p - HDR;
	size_t old;
	memcpy(&old, b, sizeof old);
	unsigned char *q = realloc(b, n + HDR);
	if (!q)
		return NULL;
	memcpy(q, &n, sizeof n);
	atomic_fetch_add_explicit(&used[sub], (int64_t)n - (int64_t)old, memory_order_relaxed);
	return q + HDR;
}

void jl_free(jl_mem_sub sub, void *p)
{
	if (!p)
		return;
	unsigned char *b = (unsigned char *)p - HDR;
	size_t n;
	memcpy(&n, b, sizeof n);
	atomic_fetch_sub_explicit(&used[sub], (int64_t)n, memory_order_relaxed);
	free(b);
}

char *jl_strndup(jl_mem_sub sub, const char *s, size_t n)
{
	char *p = jl_malloc(sub, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

int64_t jl_mem_used(jl_mem_sub sub)
{
	return atomic_load_explicit(&used[sub], memory_order_relaxed);
}

const char *jl_mem_sub_name(jl_mem_sub sub)
{
	return sub < JL_MEM_COUNT ? sub_names[sub] : "?";
}

void jl_mem_fail_after(int64_t n, int sticky)
{
	atomic_store(&fail_sticky, sticky);
	atomic_store(&fail_count, 0);
	atomic_store(&fail_countdown, n);
}

int64_t jl_mem_failures(void)
{
	return atomic_load(&fail_count);
}
