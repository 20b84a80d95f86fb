/*
 * hash — a simple, well-mixed 64-bit hash: 8 bytes at a time through a
 * multiply-xorshift round, and a final avalanche (the splitmix64 finaliser).
 * Our own; the constants are the usual odd multipliers of the golden ratio
 * and of splitmix64.
 */
#include "base/hash.h"

#include <string.h>

static inline uint64_t mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBULL;
	h ^= h >> 31;
	return h;
}

uint64_t jl_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	h ^= (uint64_t)n * 0x9E3779B97F4A7C15ULL;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ mix(w)) * 0xFF51AFD7ED558CCDULL;
		h ^= h >> 32;
		b += 8;
		n -= 8;
	}
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t |= (uint64_t)b[i] << (8 * i);
	h = (h ^ mix(t ^ 0xA5A5A5A5A5A5A5A5ULL)) * 0xC4CEB9FE1A85EC53ULL;
	return mix(h);
}

uint64_t jl_hash_strs(const jl_str_t *s, size_t n)
{
	uint64_t h = JL_HASH_SEED;
	for (size_t i = 0; i < n; i++)
		h = jl_hash_bytes(h, s[i].p ? s[i].p : "", s[i].n);
	return h;
}

uint64_t jl_hash4(jl_str_t a, jl_str_t b, jl_str_t c, jl_str_t d)
{
	jl_str_t s[4] = {a, b, c, d};
	return jl_hash_strs(s, 4);
}
