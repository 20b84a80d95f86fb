/*
 * stats — see stats.h. The incomplete gamma uses the series below a+1 and
 * the continued fraction above (the classic split that keeps both
 * convergent); its inverse is bisection in log space, accurate to 1e-10
 * relative, which is plenty for intervals printed to 2 decimals.
 */
#include "monitor/stats.h"

#include <math.h>

#define Z95 1.959963984540054

void jl_stats_wilson(int64_t x, int64_t n, double *lo, double *hi)
{
	double p = (double)x / (double)n, z2 = Z95 * Z95, nn = (double)n;
	double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
	double half = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
	*lo = centre - half < 0 ? 0 : centre - half;
	*hi = centre + half > 1 ? 1 : centre + half;
}

double jl_stats_gamma_p(double a, double x)
{
	if (x <= 0)
		return 0;
	double lg = lgamma(a);
	if (x < a + 1) {
		double sum = 1 / a, term = sum;
		for (int n = 1; n < 1000; n++) {
			term *= x / (a + n);
			sum += term;
			if (fabs(term) < fabs(sum) * 1e-15)
				break;
		}
		return sum * exp(-x + a * log(x) - lg);
	}
	/* Lentz's continued fraction for Q(a, x). */
	double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
	for (int i = 1; i < 1000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < 1e-300)
			d = 1e-300;
		c = b + an / c;
		if (fabs(c) < 1e-300)
			c = 1e-300;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return 1 - exp(-x + a * log(x) - lg) * h;
}

double jl_stats_gamma_p_inv(double a, double p)
{
	double lo = 0, hi = a + 10 * sqrt(a) + 20;
	while (jl_stats_gamma_p(a, hi) < p)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * (hi > 1 ? hi : 1); i++) {
		double mid = (lo + hi) / 2;
		if (jl_stats_gamma_p(a, mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

void jl_stats_poisson(int64_t x, double *lo, double *hi)
{
	*lo = x > 0 ? jl_stats_gamma_p_inv((double)x, 0.025) : 0;
	*hi = jl_stats_gamma_p_inv((double)x + 1, 0.975);
}

int jl_stats_lt_group(int32_t age)
{
	if (age < 1)
		return 0;
	if (age < 5)
		return 1;
	int g = 1 + age / 5;
	return g >= JL_LT_GROUPS ? JL_LT_GROUPS - 1 : g;
}

static double width(int g)
{
	return g == 0 ? 1 : g == 1 ? 4 : 5;
}

void jl_stats_lifetable(const double *deaths, const double *pop, int sex, const double *ax, jl_lifetable_t *t)
{
	const int w = JL_LT_GROUPS - 1;
	t->ok = true;
	for (int g = 0; g < JL_LT_GROUPS; g++) {
		if (pop[g] <= 0)
			t->ok = false;
		t->m[g] = pop[g] > 0 ? deaths[g] / pop[g] : 0;
	}
	if (deaths[w] <= 0)
		t->ok = false;
	if (!t->ok)
		return;
	/* a_x: Coale–Demeny for age 0 (Preston et al. 2001, as §5.1 gives), 1.5 for 1-4, n/2 above. */
	double m0 = t->m[0];
	double am = m0 >= 0.107 ? 0.330 : 0.045 + 2.684 * m0, af = m0 >= 0.107 ? 0.350 : 0.053 + 2.800 * m0;
	for (int g = 0; g < JL_LT_GROUPS; g++)
		t->a[g] = ax ? ax[g] : g == 0 ? (sex == 1 ? am : sex == 2 ? af : (am + af) / 2) : g == 1 ? 1.5
			  : g == w ? 1 / t->m[w] : 2.5;
	double l = 100000;
	for (int g = 0; g < JL_LT_GROUPS; g++) {
		double n = width(g);
		t->l[g] = l;
		t->q[g] = g == w ? 1 : n * t->m[g] / (1 + (n - t->a[g]) * t->m[g]);
		if (t->q[g] > 1)
			t->q[g] = 1;
		t->d[g] = l * t->q[g];
		double next = l - t->d[g];
		t->L[g] = g == w ? l / t->m[w] : n * next + t->a[g] * t->d[g];
		l = next;
	}
	double T = 0;
	for (int g = w; g >= 0; g--) {
		T += t->L[g];
		t->T[g] = T;
		t->e[g] = t->l[g] > 0 ? T / t->l[g] : 0;
	}
	t->e0 = t->e[0];
	/*
	 * Chiang's variance of e0 (Chiang 1984, as used by public-health
	 * observatories): Σ l_x² [(1 − a_x/n)·n + e_{x+n}]² Var(q_x) / l_0²,
	 * Var(q_x) = q_x²(1 − q_x)/D_x, plus the open group's term
	 * l_w² Var(M_w)/M_w⁴ with Var(M_w) = D_w/P_w².
	 */
	double var = 0;
	for (int g = 0; g < w; g++) {
		if (deaths[g] <= 0)
			continue;
		double n = width(g), vq = t->q[g] * t->q[g] * (1 - t->q[g]) / deaths[g];
		double k = (1 - t->a[g] / n) * n + t->e[g + 1];
		var += t->l[g] * t->l[g] * k * k * vq;
	}
	double mw = t->m[w], vm = deaths[w] / (pop[w] * pop[w]);
	var += t->l[w] * t->l[w] / (mw * mw * mw * mw) * vm;
	double se = sqrt(var) / t->l[0];
	t->e0_lo = t->e0 - Z95 * se;
	t->e0_hi = t->e0 + Z95 * se;
}

bool jl_stats_ncd_prob(const double *deaths, const double *pop, double *out)
{
	double surv = 1;
	for (int g = 7; g <= 14; g++) { /* groups 30-34 … 65-69 */
		if (pop[g] <= 0)
			return false;
		double m = deaths[g] / pop[g];
		surv *= 1 - 5 * m / (1 + 2.5 * m);
	}
	*out = 1 - surv;
	return true;
}
