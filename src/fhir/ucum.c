/*
 * ucum — UCUM unit codes to dimension vectors and exact factors (ucum.h).
 *
 * The grammar handled is UCUM's: a term is components joined by '.' and
 * '/', optionally led by '/'; a component is a unit symbol with an optional
 * integer exponent ("m2", "s-1"), a parenthesised term, a positive integer
 * factor ("1000"), "10*n"/"10^n", or an {annotation} (unity). A symbol is
 * an atom, or a prefix followed by a metric atom; an exact atom match wins
 * ("cd" is the candela, not a centi-day; "mo" a month).
 *
 * The atom values are UCUM's definitions (ucum-essence), written as exact
 * fractions of the base units m, s, g, rad, K, C, cd.
 */
#include "fhir/ucum.h"

#include <string.h>

enum { D_M, D_S, D_G, D_RAD, D_K, D_C, D_CD, D_ARB };

typedef struct atom {
	const char *code;
	uint8_t metric;
	int8_t dim[JL_UCUM_NDIM]; /* m s g rad K C cd arb */
	int64_t num, den;
	int32_t exp10;
} atom_t;

static const atom_t atoms[] = {
	/* base units */
	{"m", 1, {1, 0, 0, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"s", 1, {0, 1, 0, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"g", 1, {0, 0, 1, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"rad", 1, {0, 0, 0, 1, 0, 0, 0, 0}, 1, 1, 0},
	{"K", 1, {0, 0, 0, 0, 1, 0, 0, 0}, 1, 1, 0},
	{"C", 1, {0, 0, 0, 0, 0, 1, 0, 0}, 1, 1, 0},
	{"cd", 1, {0, 0, 0, 0, 0, 0, 1, 0}, 1, 1, 0},
	/* dimensionless */
	{"mol", 1, {0}, 60221367, 1, 16},
	{"osm", 1, {0}, 60221367, 1, 16},
	{"eq", 1, {0}, 60221367, 1, 16},
	{"%", 0, {0}, 1, 1, -2},
	{"[ppth]", 0, {0}, 1, 1, -3},
	{"[ppm]", 0, {0}, 1, 1, -6},
	{"[ppb]", 0, {0}, 1, 1, -9},
	{"[pptr]", 0, {0}, 1, 1, -12},
	/* SI derived */
	{"sr", 1, {0, 0, 0, 2, 0, 0, 0, 0}, 1, 1, 0},
	{"Hz", 1, {0, -1, 0, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"N", 1, {1, -2, 1, 0, 0, 0, 0, 0}, 1, 1, 3},
	{"Pa", 1, {-1, -2, 1, 0, 0, 0, 0, 0}, 1, 1, 3},
	{"J", 1, {2, -2, 1, 0, 0, 0, 0, 0}, 1, 1, 3},
	{"W", 1, {2, -3, 1, 0, 0, 0, 0, 0}, 1, 1, 3},
	{"A", 1, {0, -1, 0, 0, 0, 1, 0, 0}, 1, 1, 0},
	{"V", 1, {2, -2, 1, 0, 0, -1, 0, 0}, 1, 1, 3},
	{"F", 1, {-2, 2, -1, 0, 0, 2, 0, 0}, 1, 1, -3},
	{"Ohm", 1, {2, -1, 1, 0, 0, -2, 0, 0}, 1, 1, 3},
	{"S", 1, {-2, 1, -1, 0, 0, 2, 0, 0}, 1, 1, -3},
	{"Wb", 1, {2, -1, 1, 0, 0, -1, 0, 0}, 1, 1, 3},
	{"T", 1, {0, -1, 1, 0, 0, -1, 0, 0}, 1, 1, 3},
	{"H", 1, {2, 0, 1, 0, 0, -2, 0, 0}, 1, 1, 3},
	{"lm", 1, {0, 0, 0, 2, 0, 0, 1, 0}, 1, 1, 0},
	{"lx", 1, {-2, 0, 0, 2, 0, 0, 1, 0}, 1, 1, 0},
	{"Bq", 1, {0, -1, 0, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"Gy", 1, {2, -2, 0, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"Sv", 1, {2, -2, 0, 0, 0, 0, 0, 0}, 1, 1, 0},
	{"kat", 1, {0, -1, 0, 0, 0, 0, 0, 0}, 60221367, 1, 16},
	{"U", 1, {0, -1, 0, 0, 0, 0, 0, 0}, 60221367, 60, 10},
	/* time */
	{"min", 0, {0, 1, 0, 0, 0, 0, 0, 0}, 60, 1, 0},
	{"h", 0, {0, 1, 0, 0, 0, 0, 0, 0}, 3600, 1, 0},
	{"d", 0, {0, 1, 0, 0, 0, 0, 0, 0}, 86400, 1, 0},
	{"wk", 0, {0, 1, 0, 0, 0, 0, 0, 0}, 604800, 1, 0},
	{"mo", 0, {0, 1, 0, 0, 0, 0, 0, 0}, 2629800, 1, 0},
	{"a", 0, {0, 1, 0, 0, 0, 0, 0, 0}, 31557600, 1, 0},
	/* volume, area, mass, pressure, energy */
	{"l", 1, {3, 0, 0, 0, 0, 0, 0, 0}, 1, 1, -3},
	{"L", 1, {3, 0, 0, 0, 0, 0, 0, 0}, 1, 1, -3},
	{"ar", 1, {2, 0, 0, 0, 0, 0, 0, 0}, 1, 1, 2},
	{"t", 1, {0, 0, 1, 0, 0, 0, 0, 0}, 1, 1, 6},
	{"u", 1, {0, 0, 1, 0, 0, 0, 0, 0}, 16605402, 1, -31},
	{"bar", 1, {-1, -2, 1, 0, 0, 0, 0, 0}, 1, 1, 8},
	{"m[Hg]", 1, {-1, -2, 1, 0, 0, 0, 0, 0}, 133322, 1, 3},
	{"m[H2O]", 1, {-1, -2, 1, 0, 0, 0, 0, 0}, 980665, 1, 1},
	{"cal", 1, {2, -2, 1, 0, 0, 0, 0, 0}, 4184, 1, 0},
	{"[Cal]", 0, {2, -2, 1, 0, 0, 0, 0, 0}, 4184, 1, 3},
	{"Ao", 0, {1, 0, 0, 0, 0, 0, 0, 0}, 1, 1, -10},
	/* customary */
	{"[in_i]", 0, {1, 0, 0, 0, 0, 0, 0, 0}, 254, 1, -4},
	{"[ft_i]", 0, {1, 0, 0, 0, 0, 0, 0, 0}, 3048, 1, -4},
	{"[yd_i]", 0, {1, 0, 0, 0, 0, 0, 0, 0}, 9144, 1, -4},
	{"[mi_i]", 0, {1, 0, 0, 0, 0, 0, 0, 0}, 1609344, 1, -3},
	{"[lb_av]", 0, {0, 0, 1, 0, 0, 0, 0, 0}, 45359237, 1, -5},
	{"[oz_av]", 0, {0, 0, 1, 0, 0, 0, 0, 0}, 45359237, 16, -5},
	{"[gr]", 0, {0, 0, 1, 0, 0, 0, 0, 0}, 6479891, 1, -8},
	{"[drp]", 0, {3, 0, 0, 0, 0, 0, 0, 0}, 1, 20, -6},
	{"[foz_us]", 0, {3, 0, 0, 0, 0, 0, 0, 0}, 295735295625, 1, -16},
	{"[pt_us]", 0, {3, 0, 0, 0, 0, 0, 0, 0}, 473176473, 1, -12},
	{"[qt_us]", 0, {3, 0, 0, 0, 0, 0, 0, 0}, 946352946, 1, -12},
	{"[gal_us]", 0, {3, 0, 0, 0, 0, 0, 0, 0}, 3785411784, 1, -12},
	/* arbitrary units: comparable only among themselves */
	{"[iU]", 1, {0, 0, 0, 0, 0, 0, 0, 1}, 1, 1, 0},
	{"[IU]", 1, {0, 0, 0, 0, 0, 0, 0, 1}, 1, 1, 0},
	{"[arb'U]", 0, {0, 0, 0, 0, 0, 0, 0, 1}, 1, 1, 0},
};

static const struct {
	const char *sym;
	int exp10;
} prefixes[] = {
	{"da", 1}, {"Y", 24}, {"Z", 21}, {"E", 18}, {"P", 15}, {"T", 12}, {"G", 9}, {"M", 6}, {"k", 3},
	{"h", 2},  {"d", -1}, {"c", -2}, {"m", -3}, {"u", -6}, {"n", -9}, {"p", -12}, {"f", -15}, {"a", -18},
	{"z", -21}, {"y", -24},
};

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a < 0 ? -a : a;
}

static bool reduce(jl_ucum_unit_t *u)
{
	if (u->den <= 0 || u->num <= 0)
		return false;
	int64_t g = gcd64(u->num, u->den);
	if (g > 1) {
		u->num /= g;
		u->den /= g;
	}
	/* Keep powers of ten in exp10. */
	while (u->num % 10 == 0 && u->exp10 < 1000) {
		u->num /= 10;
		u->exp10++;
	}
	while (u->den % 10 == 0 && u->exp10 > -1000) {
		u->den /= 10;
		u->exp10--;
	}
	return u->exp10 > -1000 && u->exp10 < 1000;
}

static const jl_ucum_unit_t one = {{0}, 1, 1, 0};

bool jl_ucum_mul(const jl_ucum_unit_t *a, const jl_ucum_unit_t *b, jl_ucum_unit_t *out)
{
	jl_ucum_unit_t r;
	for (int i = 0; i < JL_UCUM_NDIM; i++) {
		int d = a->dim[i] + b->dim[i];
		if (d > 100 || d < -100)
			return false;
		r.dim[i] = (int8_t)d;
	}
	/* Cross-reduce first so that products stay small. */
	int64_t an = a->num, ad = a->den, bn = b->num, bd = b->den;
	int64_t g1 = gcd64(an, bd), g2 = gcd64(bn, ad);
	if (g1 > 1) {
		an /= g1;
		bd /= g1;
	}
	if (g2 > 1) {
		bn /= g2;
		ad /= g2;
	}
	if (__builtin_mul_overflow(an, bn, &r.num) || __builtin_mul_overflow(ad, bd, &r.den))
		return false;
	r.exp10 = a->exp10 + b->exp10;
	if (!reduce(&r))
		return false;
	*out = r;
	return true;
}

bool jl_ucum_div(const jl_ucum_unit_t *a, const jl_ucum_unit_t *b, jl_ucum_unit_t *out)
{
	jl_ucum_unit_t inv;
	for (int i = 0; i < JL_UCUM_NDIM; i++)
		inv.dim[i] = (int8_t)-b->dim[i];
	inv.num = b->den;
	inv.den = b->num;
	inv.exp10 = -b->exp10;
	return jl_ucum_mul(a, &inv, out);
}

static bool upow(const jl_ucum_unit_t *u, int e, jl_ucum_unit_t *out)
{
	jl_ucum_unit_t r = one;
	if (e < -20 || e > 20)
		return false;
	for (int i = 0; i < (e < 0 ? -e : e); i++)
		if (!jl_ucum_mul(&r, u, &r))
			return false;
	if (e < 0)
		return jl_ucum_div(&one, &r, out);
	*out = r;
	return true;
}

bool jl_ucum_comparable(const jl_ucum_unit_t *a, const jl_ucum_unit_t *b)
{
	return memcmp(a->dim, b->dim, sizeof a->dim) == 0;
}

static const atom_t *find_atom(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof atoms / sizeof *atoms; i++)
		if (strlen(atoms[i].code) == n && memcmp(atoms[i].code, p, n) == 0)
			return &atoms[i];
	return NULL;
}

static void from_atom(const atom_t *a, jl_ucum_unit_t *u)
{
	memcpy(u->dim, a->dim, sizeof u->dim);
	u->num = a->num;
	u->den = a->den;
	u->exp10 = a->exp10;
}

/* A unit symbol without exponent: atom, prefix+metric atom, or 10* / 10^. */
static bool symbol(const char *p, size_t n, jl_ucum_unit_t *u)
{
	const atom_t *a = find_atom(p, n);
	if (a) {
		from_atom(a, u);
		return true;
	}
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		size_t k = strlen(prefixes[i].sym);
		if (n > k && memcmp(p, prefixes[i].sym, k) == 0) {
			a = find_atom(p + k, n - k);
			if (a && a->metric) {
				from_atom(a, u);
				u->exp10 += prefixes[i].exp10;
				return true;
			}
		}
	}
	return false;
}

typedef struct rd {
	const char *p;
	size_t n, i;
	int depth;
} rd_t;

static bool term(rd_t *r, jl_ucum_unit_t *u);

static bool component(rd_t *r, jl_ucum_unit_t *u)
{
	if (r->i >= r->n)
		return false;
	char c = r->p[r->i];
	if (c == '(') {
		if (++r->depth > 16)
			return false;
		r->i++;
		if (!term(r, u) || r->i >= r->n || r->p[r->i] != ')')
			return false;
		r->i++;
		r->depth--;
		/* An exponent may follow a parenthesised term. */
		size_t s = r->i;
		int sign = 1, e = 0;
		if (r->i < r->n && (r->p[r->i] == '+' || r->p[r->i] == '-'))
			sign = r->p[r->i++] == '-' ? -1 : 1;
		while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9' && e < 1000)
			e = e * 10 + (r->p[r->i++] - '0');
		if (r->i > s)
			return upow(u, sign * e, u);
		return true;
	}
	if (c == '{') {
		while (r->i < r->n && r->p[r->i] != '}')
			r->i++;
		if (r->i >= r->n)
			return false;
		r->i++;
		*u = one;
		return true;
	}
	/* A symbol: up to '.', '/', '(', ')', '{'; brackets are opaque. */
	size_t s = r->i;
	while (r->i < r->n) {
		char ch = r->p[r->i];
		if (ch == '[') {
			while (r->i < r->n && r->p[r->i] != ']')
				r->i++;
			if (r->i >= r->n)
				return false;
			r->i++;
			continue;
		}
		if (ch == '.' || ch == '/' || ch == '(' || ch == ')' || ch == '{')
			break;
		r->i++;
	}
	size_t e = r->i;
	/* Annotation after the symbol. */
	if (r->i < r->n && r->p[r->i] == '{') {
		while (r->i < r->n && r->p[r->i] != '}')
			r->i++;
		if (r->i >= r->n)
			return false;
		r->i++;
	}
	if (e == s)
		return false;
	/* A plain integer is a factor. */
	bool alldig = true;
	for (size_t k = s; k < e; k++)
		if (r->p[k] < '0' || r->p[k] > '9')
			alldig = false;
	if (alldig) {
		int64_t v = 0;
		for (size_t k = s; k < e; k++)
			if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, r->p[k] - '0', &v))
				return false;
		*u = one;
		u->num = v;
		return v > 0 && reduce(u);
	}
	/* Trailing exponent (not inside brackets). */
	size_t x = e;
	while (x > s && r->p[x - 1] >= '0' && r->p[x - 1] <= '9')
		x--;
	int exp = 1;
	size_t symend = e;
	if (x < e && x > s) {
		size_t sgn = x;
		if (sgn > s && (r->p[sgn - 1] == '+' || r->p[sgn - 1] == '-'))
			sgn--;
		if (e - x > 3)
			return false;
		exp = 0;
		for (size_t k = x; k < e; k++)
			exp = exp * 10 + (r->p[k] - '0');
		if (sgn < x && r->p[sgn] == '-')
			exp = -exp;
		symend = sgn;
	}
	/* 10*n and 10^n */
	if (symend - s == 3 && r->p[s] == '1' && r->p[s + 1] == '0' && (r->p[s + 2] == '*' || r->p[s + 2] == '^')) {
		if (symend == e)
			return false;
		*u = one;
		u->exp10 = exp;
		return exp > -100 && exp < 100;
	}
	jl_ucum_unit_t b;
	if (!symbol(r->p + s, symend - s, &b))
		return false;
	return upow(&b, exp, u);
}

static bool term(rd_t *r, jl_ucum_unit_t *u)
{
	jl_ucum_unit_t acc = one, c;
	char op = '.';
	if (r->i < r->n && r->p[r->i] == '/') {
		op = '/';
		r->i++;
	}
	for (;;) {
		if (!component(r, &c))
			return false;
		if (!(op == '.' ? jl_ucum_mul(&acc, &c, &acc) : jl_ucum_div(&acc, &c, &acc)))
			return false;
		if (r->i < r->n && (r->p[r->i] == '.' || r->p[r->i] == '/')) {
			op = r->p[r->i++];
			continue;
		}
		break;
	}
	*u = acc;
	return true;
}

bool jl_ucum_parse(jl_str_t code, jl_ucum_unit_t *out)
{
	if (!code.p || code.n == 0 || code.n > 256)
		return false;
	if (code.n == 1 && code.p[0] == '1') {
		*out = one;
		return true;
	}
	rd_t r = {code.p, code.n, 0, 0};
	jl_ucum_unit_t u;
	if (!term(&r, &u) || r.i != r.n)
		return false;
	*out = u;
	return true;
}
