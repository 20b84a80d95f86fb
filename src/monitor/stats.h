/*
 * stats — the formulas of the standards that are not counts: confidence
 * intervals for small areas, the period abridged life table (indicators.md
 * §5.1) and the 30–70 probability of dying from the four NCDs (§5.2).
 * Pure functions; thread-safe.
 */
#ifndef JL_MONITOR_STATS_H
#define JL_MONITOR_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* 95 % Wilson score interval of a proportion x/n (n > 0), as fractions. */
void jl_stats_wilson(int64_t x, int64_t n, double *lo, double *hi);

/*
 * 95 % exact (Garwood) interval of a Poisson count x: lower = Gamma^-1(0.025; x),
 * upper = Gamma^-1(0.975; x + 1) — i.e. chi-square quantiles / 2. As counts.
 */
void jl_stats_poisson(int64_t x, double *lo, double *hi);

/* Regularised lower incomplete gamma P(a, x), and its inverse in x. */
double jl_stats_gamma_p(double a, double x);
double jl_stats_gamma_p_inv(double a, double p);

#define JL_LT_GROUPS 19 /* 0, 1-4, 5-9, …, 80-84, 85+ */

typedef struct jl_lifetable {
	double m[JL_LT_GROUPS], a[JL_LT_GROUPS], q[JL_LT_GROUPS], l[JL_LT_GROUPS], d[JL_LT_GROUPS],
		L[JL_LT_GROUPS], T[JL_LT_GROUPS], e[JL_LT_GROUPS];
	double e0, e0_lo, e0_hi; /* e0 with its 95 % CI (Chiang's variance) */
	bool ok;                 /* false when some group has no population or the open group no deaths */
} jl_lifetable_t;

/* Age group of an age in completed years. */
int jl_stats_lt_group(int32_t age);

/*
 * Abridged life table, radix 100 000 (§5.1). deaths and pop per group;
 * sex 1 male, 2 female, 0 both (a0 by the female row of Coale–Demeny is not
 * right for both sexes: the average of the two rows is used). ax: NULL for
 * the standard's choices (a0 Coale–Demeny, 4a1 = 1.5, n/2, open group 1/M),
 * or given per group (to check against a published table).
 */
void jl_stats_lifetable(const double *deaths, const double *pop, int sex, const double *ax, jl_lifetable_t *out);

/*
 * §5.2: 1 − Π(1 − 5q_x) over x = 30 … 65 with 5q_x = 5M/(1 + 2.5M), as a
 * fraction. deaths are NCD deaths and pop the population per life-table
 * group. false when a band has no population.
 */
bool jl_stats_ncd_prob(const double *deaths, const double *pop, double *out);

#endif
