/*
 * rng — the generator's own deterministic random numbers: a counter-based
 * stream (SplitMix64) keyed by (seed, stream, index), so that every
 * household, institution or outbreak draws from its own sequence and can be
 * generated independently of the others, in any order, with the same result.
 * Never use it for anything secret. Header-only; no state beyond the struct.
 */
#ifndef JL_GEN_RNG_H
#define JL_GEN_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct jl_rng {
	uint64_t s;
} jl_rng_t;

static inline uint64_t jl_rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Streams: one per kind of thing drawn, so adding draws to one kind never shifts another. */
enum {
	JL_RNG_REGION = 1, JL_RNG_ORG, JL_RNG_HOUSEHOLD, JL_RNG_HEALTH, JL_RNG_DUP, JL_RNG_OUTBREAK,
	JL_RNG_COUNTY, JL_RNG_STAFF,
};

static inline jl_rng_t jl_rng_key(uint64_t seed, uint64_t stream, uint64_t index)
{
	jl_rng_t r = {jl_rng_mix(seed + 0x9e3779b97f4a7c15ULL) ^ jl_rng_mix(stream * 0xd1b54a32d192ed03ULL + 1) ^
		      jl_rng_mix(index * 0x8cb92ba72f3d8dd7ULL + 7)};
	r.s = jl_rng_mix(r.s);
	return r;
}

static inline uint64_t jl_rng_next(jl_rng_t *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return jl_rng_mix(r->s);
}

/* Uniform in [0, 1). */
static inline double jl_rng_u(jl_rng_t *r)
{
	return (double)(jl_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) (n > 0); the bias of the multiply-shift is below 2^-32 for our n. */
static inline uint32_t jl_rng_below(jl_rng_t *r, uint32_t n)
{
	return (uint32_t)(((jl_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform integer in [lo, hi]. */
static inline int jl_rng_range(jl_rng_t *r, int lo, int hi)
{
	return lo + (int)jl_rng_below(r, (uint32_t)(hi - lo + 1));
}

static inline int jl_rng_bern(jl_rng_t *r, double p)
{
	return jl_rng_u(r) < p;
}

/* Standard normal (Box–Muller, one value per call). */
static inline double jl_rng_normal(jl_rng_t *r)
{
	double u1 = jl_rng_u(r), u2 = jl_rng_u(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Poisson (Knuth for small means, normal approximation above 50). */
static inline int jl_rng_poisson(jl_rng_t *r, double mean)
{
	if (mean <= 0)
		return 0;
	if (mean > 50) {
		double v = mean + sqrt(mean) * jl_rng_normal(r) + 0.5;
		return v < 0 ? 0 : (int)v;
	}
	double l = exp(-mean), p = 1.0;
	int k = 0;
	do {
		k++;
		p *= jl_rng_u(r);
	} while (p > l);
	return k - 1;
}

/* Index drawn from cumulative weights cum[0..n) (cum[n-1] = total). */
static inline uint32_t jl_rng_pick_cum(jl_rng_t *r, const double *cum, uint32_t n)
{
	double x = jl_rng_u(r) * cum[n - 1];
	uint32_t lo = 0, hi = n - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

#endif
