/*
 * arena — bump allocation over a chain of blocks. Large requests get a
 * block of their own so that a big body does not waste the tail of the
 * current block. Cleanups are kept in a singly linked list allocated from
 * the arena itself.
 */
#include "base/arena.h"

#include <stdio.h>

typedef struct block {
	struct block *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	/* data follows, 16-aligned */
} block_t;

typedef struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *arg;
} cleanup_t;

struct jl_arena {
	block_t *head; /* current block (first in chain) */
	block_t *first; /* the block kept on reset */
	cleanup_t *cleanups;
	size_t block, cap, total;
};

#define BHDR ((sizeof(block_t) + 15) & ~(size_t)15)

static block_t *block_new(size_t size)
{
	block_t *b = jl_malloc(JL_MEM_ARENA, BHDR + size);
	if (!b)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

static inline char *block_data(block_t *b) { return (char *)b + BHDR; }

jl_arena_t *jl_arena_new(size_t block, size_t cap)
{
	jl_arena_t *a = jl_malloc(JL_MEM_ARENA, sizeof *a);
	if (!a)
		return NULL;
	a->block = block ? block : 16384;
	a->cap = cap;
	a->total = 0;
	a->cleanups = NULL;
	a->first = a->head = block_new(a->block);
	if (!a->head) {
		jl_free(JL_MEM_ARENA, a);
		return NULL;
	}
	return a;
}

static void run_cleanups(jl_arena_t *a)
{
	cleanup_t *c = a->cleanups;
	a->cleanups = NULL;
	for (; c; c = c->next)
		c->fn(c->arg);
}

void jl_arena_free(jl_arena_t *a)
{
	if (!a)
		return;
	run_cleanups(a);
	block_t *b = a->head;
	while (b) {
		block_t *nx = b->next;
		jl_free(JL_MEM_ARENA, b);
		b = nx;
	}
	jl_free(JL_MEM_ARENA, a);
}

void jl_arena_reset(jl_arena_t *a)
{
	run_cleanups(a);
	block_t *b = a->head;
	while (b) {
		block_t *nx = b->next;
		if (b != a->first)
			jl_free(JL_MEM_ARENA, b);
		b = nx;
	}
	a->head = a->first;
	a->first->next = NULL;
	a->first->used = 0;
	a->total = 0;
}

static void *alloc_in(jl_arena_t *a, size_t n, size_t align)
{
	block_t *b = a->head;
	size_t off = (b->used + align - 1) & ~(align - 1);
	if (off <= b->size && n <= b->size - off) {
		b->used = off + n;
		a->total += n;
		return block_data(b) + off;
	}
	if (a->cap && (n > a->cap || a->total + n > a->cap))
		return NULL;
	if (n > SIZE_MAX / 2)
		return NULL;
	/* Big allocations get their own block behind the head so the head keeps its free tail. */
	if (n > a->block / 4) {
		block_t *nb = block_new(n);
		if (!nb)
			return NULL;
		nb->used = n;
		nb->next = b->next;
		b->next = nb;
		a->total += n;
		return block_data(nb);
	}
	block_t *nb = block_new(a->block);
	if (!nb)
		return NULL;
	nb->next = b;
	a->head = nb;
	nb->used = n;
	a->total += n;
	return block_data(nb);
}

void *jl_arena_alloc(jl_arena_t *a, size_t n)
{
	return alloc_in(a, n ? n : 1, 16);
}

void *jl_arena_alloc_bytes(jl_arena_t *a, size_t n)
{
	return alloc_in(a, n ? n : 1, 1);
}

void *jl_arena_calloc(jl_arena_t *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = jl_arena_alloc(a, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *jl_arena_strndup(jl_arena_t *a, const char *s, size_t n)
{
	char *p = alloc_in(a, n + 1, 1);
	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

char *jl_arena_strdup(jl_arena_t *a, const char *s)
{
	return jl_arena_strndup(a, s, strlen(s));
}

jl_str_t jl_arena_str(jl_arena_t *a, jl_str_t s)
{
	char *p = jl_arena_strndup(a, s.p, s.n);
	return p ? jl_str(p, s.n) : JL_STR_NULL;
}

char *jl_arena_vprintf(jl_arena_t *a, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int k = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (k < 0)
		return NULL;
	char *p = alloc_in(a, (size_t)k + 1, 1);
	if (p)
		vsnprintf(p, (size_t)k + 1, fmt, ap);
	return p;
}

char *jl_arena_printf(jl_arena_t *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = jl_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

jl_rc jl_arena_on_free(jl_arena_t *a, void (*fn)(void *), void *arg)
{
	cleanup_t *c = jl_arena_alloc(a, sizeof *c);
	if (!c)
		return JL_ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
	return JL_OK;
}

size_t jl_arena_used(const jl_arena_t *a)
{
	return a->total;
}
