/*
 * fhirpath_regex — the regular expressions of matches(), matchesFull() and
 * replaceMatches(): a parser for the common (PCRE/Java-like) syntax and a
 * Pike VM that runs in time linear in the subject (program size × input),
 * so no pattern can take exponential time, and all memory comes from the
 * evaluation's arena.
 *
 * Supported: literals, '.', classes [...] with ranges and negation, \d \w
 * \s (and negations) also inside classes, anchors ^ $ \b \B, groups
 * (capturing, (?:...), (?<name>...)), alternation, the quantifiers * + ?
 * {n} {n,} {n,m} and their lazy forms. FHIRPath's regexes are single-line:
 * '.' matches a newline and ^ $ are the ends of the string. Not supported
 * (a compile error): backreferences, lookaround, possessive quantifiers,
 * Unicode properties.
 */
#include <string.h>

#include "fhir/fhirpath_int.h"

#define RE_MAX_PROG 20000
#define RE_MAX_REPEAT 1000
#define RE_MAX_GROUPS 9

enum { I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_SAVE, I_MATCH, I_BOL, I_EOL, I_WORDB, I_NWORDB };

typedef struct rinst {
	uint8_t op;
	uint32_t x, y; /* CHAR: code point; CLASS: class index; SPLIT: x preferred, y; JMP: x; SAVE: slot */
} rinst_t;

typedef struct rclass {
	uint32_t *r; /* pairs lo, hi */
	uint32_t n;
	bool neg;
} rclass_t;

/* AST */
enum { A_CHAR, A_ANY, A_CLASS, A_BOL, A_EOL, A_WORDB, A_NWORDB, A_CAT, A_ALT, A_REP, A_GROUP, A_EMPTY };

typedef struct rnode rnode_t;
struct rnode {
	uint8_t kind;
	bool greedy;
	int min, max; /* A_REP; max -1 = unbounded */
	int group;    /* A_GROUP: capture index, or -1 */
	uint32_t c;   /* A_CHAR; A_CLASS: class index */
	rnode_t *a;   /* A_REP, A_GROUP: the operand; A_CAT, A_ALT: the first of a list */
	rnode_t *next; /* the next in a list */
};

#define NSLOT (2 * (RE_MAX_GROUPS + 1))

typedef struct thr {
	uint32_t pc;
	long cap[NSLOT];
} thr_t;

struct fp_re {
	rinst_t *prog;
	uint32_t n;
	rclass_t *cls;
	uint32_t ncls;
	int ngroups;
	/* VM scratch (the pattern belongs to one evaluation, so one thread) */
	thr_t *cl, *nl;
	uint32_t *mark, gen;
	void *stack;
};

typedef struct rp {
	jl_arena_t *a;
	const char *p;
	size_t n, i;
	int depth;
	int ngroups;
	rclass_t *cls;
	uint32_t ncls, capcls;
	const char *why;
	bool nomem;
} rp_t;

static uint32_t utf8_next(const char *p, size_t n, size_t *i)
{
	unsigned char c = (unsigned char)p[*i];
	uint32_t cp;
	int k;
	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xe0) == 0xc0) {
		cp = c & 0x1f;
		k = 1;
	} else if ((c & 0xf0) == 0xe0) {
		cp = c & 0x0f;
		k = 2;
	} else if ((c & 0xf8) == 0xf0) {
		cp = c & 0x07;
		k = 3;
	} else {
		(*i)++;
		return 0xfffd;
	}
	size_t j = *i + 1;
	for (int m = 0; m < k; m++, j++) {
		if (j >= n || ((unsigned char)p[j] & 0xc0) != 0x80) {
			*i = j;
			return 0xfffd;
		}
		cp = (cp << 6) | ((unsigned char)p[j] & 0x3f);
	}
	*i = j;
	return cp;
}

static rnode_t *mknode(rp_t *r, uint8_t kind)
{
	rnode_t *x = jl_arena_calloc(r->a, 1, sizeof *x);
	if (!x)
		r->nomem = true;
	else
		x->kind = kind;
	return x;
}

static rnode_t *fail(rp_t *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return NULL;
}

/* Class building: ranges collected into a growing array. */
typedef struct rbuild {
	uint32_t *r;
	uint32_t n, cap;
} rbuild_t;

static bool addr(rp_t *r, rbuild_t *b, uint32_t lo, uint32_t hi)
{
	if (b->n + 2 > b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 16;
		if (cap > 4096)
			return false;
		uint32_t *p = jl_arena_alloc(r->a, cap * sizeof *p);
		if (!p) {
			r->nomem = true;
			return false;
		}
		if (b->n)
			memcpy(p, b->r, b->n * sizeof *p);
		b->r = p;
		b->cap = cap;
	}
	b->r[b->n++] = lo;
	b->r[b->n++] = hi;
	return true;
}

/* \d \w \s as ranges; false if c is not one of them. */
static bool add_shorthand(rp_t *r, rbuild_t *b, char c)
{
	switch (c) {
	case 'd':
		return addr(r, b, '0', '9');
	case 'w':
		return addr(r, b, 'a', 'z') && addr(r, b, 'A', 'Z') && addr(r, b, '0', '9') && addr(r, b, '_', '_');
	case 's':
		return addr(r, b, ' ', ' ') && addr(r, b, '\t', '\r');
	default:
		return false;
	}
}

static int new_class(rp_t *r, rbuild_t *b, bool neg)
{
	if (r->ncls == r->capcls) {
		uint32_t cap = r->capcls ? r->capcls * 2 : 8;
		if (cap > 4096)
			return -1;
		rclass_t *p = jl_arena_alloc(r->a, cap * sizeof *p);
		if (!p) {
			r->nomem = true;
			return -1;
		}
		if (r->ncls)
			memcpy(p, r->cls, r->ncls * sizeof *p);
		r->cls = p;
		r->capcls = cap;
	}
	r->cls[r->ncls] = (rclass_t){b->r, b->n / 2, neg};
	return (int)r->ncls++;
}

/* An escape after '\' outside a class. */
static rnode_t *parse_escape(rp_t *r)
{
	if (r->i >= r->n)
		return fail(r, "trailing backslash");
	char c = r->p[r->i++];
	rnode_t *x;
	switch (c) {
	case 'd': case 'w': case 's': case 'D': case 'W': case 'S': {
		rbuild_t b = {0};
		char lc = (char)(c | 0x20);
		if (!add_shorthand(r, &b, lc))
			return NULL;
		int k = new_class(r, &b, c != lc);
		if (k < 0 || !(x = mknode(r, A_CLASS)))
			return fail(r, "too many classes");
		x->c = (uint32_t)k;
		return x;
	}
	case 'b':
		return mknode(r, A_WORDB);
	case 'B':
		return mknode(r, A_NWORDB);
	case 'n': c = '\n'; break;
	case 'r': c = '\r'; break;
	case 't': c = '\t'; break;
	case 'f': c = '\f'; break;
	case 'v': c = '\v'; break;
	case 'u': {
		uint32_t cp = 0;
		for (int k = 0; k < 4; k++) {
			if (r->i >= r->n)
				return fail(r, "bad \\u escape");
			char h = r->p[r->i++];
			int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
			if (v < 0)
				return fail(r, "bad \\u escape");
			cp = cp * 16 + (uint32_t)v;
		}
		if (!(x = mknode(r, A_CHAR)))
			return NULL;
		x->c = cp;
		return x;
	}
	default:
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			return fail(r, "unsupported escape (backreference or class)");
		break;
	}
	if (!(x = mknode(r, A_CHAR)))
		return NULL;
	x->c = (unsigned char)c;
	return x;
}

static rnode_t *parse_class(rp_t *r)
{
	rbuild_t b = {0};
	bool neg = false, first = true;
	if (r->i < r->n && r->p[r->i] == '^') {
		neg = true;
		r->i++;
	}
	for (;;) {
		if (r->i >= r->n)
			return fail(r, "unterminated class");
		if (r->p[r->i] == ']' && !first)
			break;
		first = false;
		uint32_t lo;
		if (r->p[r->i] == '\\') {
			r->i++;
			if (r->i >= r->n)
				return fail(r, "unterminated class");
			char c = r->p[r->i++];
			if (c == 'd' || c == 'w' || c == 's') {
				if (!add_shorthand(r, &b, c))
					return fail(r, "class too large");
				continue;
			}
			if (c == 'D' || c == 'W' || c == 'S')
				return fail(r, "negated shorthand inside a class");
			lo = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'f' ? '\f' : c == 'v' ? '\v' : (unsigned char)c;
		} else {
			lo = utf8_next(r->p, r->n, &r->i);
		}
		uint32_t hi = lo;
		if (r->i + 1 < r->n && r->p[r->i] == '-' && r->p[r->i + 1] != ']') {
			r->i++;
			if (r->p[r->i] == '\\') {
				r->i++;
				if (r->i >= r->n)
					return fail(r, "unterminated class");
				hi = (unsigned char)r->p[r->i++];
			} else {
				hi = utf8_next(r->p, r->n, &r->i);
			}
			if (hi < lo)
				return fail(r, "bad class range");
		}
		if (!addr(r, &b, lo, hi))
			return fail(r, "class too large");
	}
	r->i++;
	int k = new_class(r, &b, neg);
	rnode_t *x;
	if (k < 0 || !(x = mknode(r, A_CLASS)))
		return fail(r, "too many classes");
	x->c = (uint32_t)k;
	return x;
}

static rnode_t *parse_alt(rp_t *r);

static rnode_t *parse_atom(rp_t *r)
{
	char c = r->p[r->i];
	rnode_t *x;
	switch (c) {
	case '(': {
		r->i++;
		int group = -1;
		if (r->i < r->n && r->p[r->i] == '?') {
			if (r->i + 1 < r->n && r->p[r->i + 1] == ':') {
				r->i += 2;
			} else if (r->i + 1 < r->n && r->p[r->i + 1] == '<' && r->i + 2 < r->n && r->p[r->i + 2] != '=' &&
				   r->p[r->i + 2] != '!') {
				while (r->i < r->n && r->p[r->i] != '>')
					r->i++;
				if (r->i >= r->n)
					return fail(r, "bad group name");
				r->i++;
				group = ++r->ngroups;
			} else {
				return fail(r, "lookaround and inline flags are not supported");
			}
		} else {
			group = ++r->ngroups;
		}
		if (++r->depth > 100)
			return fail(r, "groups nested too deep");
		rnode_t *in = parse_alt(r);
		r->depth--;
		if (!in)
			return NULL;
		if (r->i >= r->n || r->p[r->i] != ')')
			return fail(r, "missing ')'");
		r->i++;
		if (!(x = mknode(r, A_GROUP)))
			return NULL;
		x->a = in;
		x->group = group <= RE_MAX_GROUPS ? group : -1;
		return x;
	}
	case '[':
		r->i++;
		return parse_class(r);
	case '.':
		r->i++;
		return mknode(r, A_ANY);
	case '^':
		r->i++;
		return mknode(r, A_BOL);
	case '$':
		r->i++;
		return mknode(r, A_EOL);
	case '\\':
		r->i++;
		return parse_escape(r);
	case '*': case '+': case '?': case '{':
		if (c != '{')
			return fail(r, "nothing to repeat");
		/* A '{' that does not start a quantifier is a literal. */
		__attribute__((fallthrough));
	default:
		if (!(x = mknode(r, A_CHAR)))
			return NULL;
		x->c = utf8_next(r->p, r->n, &r->i);
		return x;
	}
}

static bool read_int(rp_t *r, int *out)
{
	size_t s = r->i;
	int v = 0;
	while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9') {
		v = v * 10 + (r->p[r->i++] - '0');
		if (v > RE_MAX_REPEAT)
			return false;
	}
	*out = v;
	return r->i > s;
}

static rnode_t *parse_repeat(rp_t *r)
{
	rnode_t *x = parse_atom(r);
	while (x && r->i < r->n) {
		char c = r->p[r->i];
		int mn, mx;
		if (c == '*') {
			mn = 0;
			mx = -1;
			r->i++;
		} else if (c == '+') {
			mn = 1;
			mx = -1;
			r->i++;
		} else if (c == '?') {
			mn = 0;
			mx = 1;
			r->i++;
		} else if (c == '{') {
			size_t save = r->i;
			r->i++;
			if (!read_int(r, &mn)) {
				r->i = save;
				break; /* a literal '{' */
			}
			mx = mn;
			if (r->i < r->n && r->p[r->i] == ',') {
				r->i++;
				if (!read_int(r, &mx))
					mx = -1;
			}
			if (r->i >= r->n || r->p[r->i] != '}' || (mx >= 0 && mx < mn)) {
				return fail(r, "bad {n,m} quantifier");
			}
			r->i++;
		} else {
			break;
		}
		if (x->kind == A_BOL || x->kind == A_EOL || x->kind == A_WORDB || x->kind == A_NWORDB || x->kind == A_REP)
			return fail(r, "nothing to repeat");
		rnode_t *q = mknode(r, A_REP);
		if (!q)
			return NULL;
		q->a = x;
		q->min = mn;
		q->max = mx;
		q->greedy = true;
		if (r->i < r->n && r->p[r->i] == '?') {
			q->greedy = false;
			r->i++;
		} else if (r->i < r->n && r->p[r->i] == '+') {
			return fail(r, "possessive quantifiers are not supported");
		}
		x = q;
	}
	return x;
}

/* Lists rather than nested pairs, so that code generation needs no deep recursion. */
static rnode_t *parse_cat(rp_t *r)
{
	rnode_t *c = mknode(r, A_CAT), **tail;
	if (!c)
		return NULL;
	tail = &c->a;
	while (r->i < r->n && r->p[r->i] != '|' && r->p[r->i] != ')') {
		rnode_t *y = parse_repeat(r);
		if (!y)
			return NULL;
		*tail = y;
		tail = &y->next;
	}
	return c;
}

static rnode_t *parse_alt(rp_t *r)
{
	rnode_t *c = mknode(r, A_ALT), *x;
	if (!c || !(x = parse_cat(r)))
		return NULL;
	c->a = x;
	while (r->i < r->n && r->p[r->i] == '|') {
		r->i++;
		rnode_t *y = parse_cat(r);
		if (!y)
			return NULL;
		x->next = y;
		x = y;
	}
	return c;
}

/* ------------------------------------------------------------------ code generation */

typedef struct gen {
	rinst_t *p;
	uint32_t n, cap;
	bool over;
	int depth;
} gen_t;

/* With g->p NULL, generation only counts instructions (the first pass). */
static uint32_t emit(gen_t *g, uint8_t op, uint32_t x, uint32_t y)
{
	if (g->n >= g->cap) {
		g->over = true;
		return 0;
	}
	if (g->p)
		g->p[g->n] = (rinst_t){op, x, y};
	return g->n++;
}

static void patch(gen_t *g, uint32_t at, int which, uint32_t v)
{
	if (g->p && !g->over) {
		if (which)
			g->p[at].y = v;
		else
			g->p[at].x = v;
	}
}



static void gen(gen_t *g, const rnode_t *x)
{
	if (g->over)
		return;
	if (++g->depth > 2000) {
		g->over = true;
		return;
	}
	switch (x->kind) {
	case A_EMPTY: break;
	case A_CHAR: emit(g, I_CHAR, x->c, 0); break;
	case A_ANY: emit(g, I_ANY, 0, 0); break;
	case A_CLASS: emit(g, I_CLASS, x->c, 0); break;
	case A_BOL: emit(g, I_BOL, 0, 0); break;
	case A_EOL: emit(g, I_EOL, 0, 0); break;
	case A_WORDB: emit(g, I_WORDB, 0, 0); break;
	case A_NWORDB: emit(g, I_NWORDB, 0, 0); break;
	case A_CAT:
		for (const rnode_t *y = x->a; y && !g->over; y = y->next)
			gen(g, y);
		break;
	case A_ALT: {
		/* SPLIT a, next; a; JMP end; next: SPLIT b, next2 … ; the JMPs chain through x until patched. */
		uint32_t jumps = UINT32_MAX;
		for (const rnode_t *y = x->a; y && !g->over; y = y->next) {
			if (!y->next) {
				gen(g, y);
				break;
			}
			uint32_t s = emit(g, I_SPLIT, 0, 0);
			patch(g, s, 0, g->n);
			gen(g, y);
			uint32_t j = emit(g, I_JMP, jumps, 0);
			jumps = j;
			patch(g, s, 1, g->n);
		}
		while (g->p && !g->over && jumps != UINT32_MAX) {
			uint32_t prev = g->p[jumps].x;
			g->p[jumps].x = g->n;
			jumps = prev;
		}
		break;
	}
	case A_GROUP:
		if (x->group >= 0)
			emit(g, I_SAVE, (uint32_t)(2 * x->group), 0);
		gen(g, x->a);
		if (x->group >= 0)
			emit(g, I_SAVE, (uint32_t)(2 * x->group + 1), 0);
		break;
	case A_REP: {
		for (int k = 0; k < x->min && !g->over; k++)
			gen(g, x->a);
		if (x->max < 0) {
			uint32_t l = emit(g, I_SPLIT, 0, 0);
			uint32_t body = g->n;
			gen(g, x->a);
			emit(g, I_JMP, l, 0);
			patch(g, l, 0, x->greedy ? body : g->n);
			patch(g, l, 1, x->greedy ? g->n : body);
		} else {
			/* Optional copies: SPLIT body, end. The splits chain through y until the end is known. */
			uint32_t splits = UINT32_MAX;
			for (int k = x->min; k < x->max && !g->over; k++) {
				uint32_t s = emit(g, I_SPLIT, 0, splits);
				splits = s;
				patch(g, s, 0, g->n); /* the body follows */
				gen(g, x->a);
			}
			while (g->p && !g->over && splits != UINT32_MAX) {
				uint32_t prev = g->p[splits].y, body = g->p[splits].x;
				g->p[splits].x = x->greedy ? body : g->n;
				g->p[splits].y = x->greedy ? g->n : body;
				splits = prev;
			}
		}
		break;
	}
	}
	g->depth--;
}

jl_rc jl__fp_re_compile(jl_arena_t *a, jl_str_t pattern, fp_re_t **out, const char **why)
{
	rp_t r = {.a = a, .p = pattern.p, .n = pattern.n};
	*out = NULL;
	*why = NULL;
	if (pattern.n > 4096) {
		*why = "pattern too long";
		return JL_EINVALID;
	}
	rnode_t *root = pattern.n ? parse_alt(&r) : mknode(&r, A_EMPTY);
	if (r.nomem)
		return JL_ENOMEM;
	if (!root || r.i != r.n) {
		*why = r.why ? r.why : "unbalanced ')'";
		return JL_EINVALID;
	}
	/* Two passes: count, then generate into an array of the right size. */
	gen_t g = {.cap = RE_MAX_PROG};
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			g.cap = g.n;
			g.n = 0;
			g.p = jl_arena_alloc(a, g.cap * sizeof *g.p);
			if (!g.p)
				return JL_ENOMEM;
		}
		emit(&g, I_SAVE, 0, 0);
		gen(&g, root);
		emit(&g, I_SAVE, 1, 0);
		emit(&g, I_MATCH, 0, 0);
		if (g.over) {
			*why = "pattern too large";
			return JL_EINVALID;
		}
	}
	fp_re_t *re = jl_arena_alloc(a, sizeof *re);
	if (!re)
		return JL_ENOMEM;
	re->prog = g.p;
	re->n = g.n;
	/* The VM's scratch, reused by every exec of this pattern. */
	re->cl = jl_arena_alloc(a, (size_t)g.n * sizeof(thr_t));
	re->nl = jl_arena_alloc(a, (size_t)g.n * sizeof(thr_t));
	re->mark = jl_arena_calloc(a, g.n, sizeof(uint32_t));
	re->stack = jl_arena_alloc(a, (size_t)(2 * g.n + 4) * 16);
	if (!re->cl || !re->nl || !re->mark || !re->stack)
		return JL_ENOMEM;
	re->gen = 0;
	re->cls = r.cls;
	re->ncls = r.ncls;
	re->ngroups = r.ngroups > RE_MAX_GROUPS ? RE_MAX_GROUPS : r.ngroups;
	*out = re;
	return JL_OK;
}

int jl__fp_re_ngroups(const fp_re_t *re)
{
	return re->ngroups;
}

/* ------------------------------------------------------------------ the Pike VM */

typedef struct tlist {
	thr_t *t;
	uint32_t n;
} tlist_t;

static bool class_has(const rclass_t *c, uint32_t cp)
{
	bool in = false;
	for (uint32_t i = 0; i < c->n && !in; i++)
		in = cp >= c->r[2 * i] && cp <= c->r[2 * i + 1];
	return in != c->neg;
}

static bool is_word(const char *s, size_t n, size_t i)
{
	if (i >= n)
		return false;
	char c = s[i];
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

typedef struct vm {
	const fp_re_t *re;
	jl_str_t s;
	uint32_t *mark; /* generation per pc */
	uint32_t gen;
	void *stack;
} vm_t;

/* Adds pc (and what epsilon transitions reach) to l, in priority order; iterative. */
static void add(vm_t *vm, tlist_t *l, uint32_t pc0, const long *cap0, size_t pos)
{
	/* The stack holds (pc, saved slot, old value) frames to restore captures. */
	struct fr {
		uint32_t pc;
		int slot;
		long old;
	};
	struct fr *st = (struct fr *)vm->stack;
	long cap[NSLOT];
	memcpy(cap, cap0, sizeof cap);
	uint32_t sp = 0;
	st[sp++] = (struct fr){pc0, -1, 0};
	while (sp) {
		struct fr f = st[--sp];
		if (f.slot >= 0) {
			cap[f.slot] = f.old;
			continue;
		}
		uint32_t pc = f.pc;
		if (vm->mark[pc] == vm->gen)
			continue;
		vm->mark[pc] = vm->gen;
		const rinst_t *in = &vm->re->prog[pc];
		switch (in->op) {
		case I_JMP:
			st[sp++] = (struct fr){in->x, -1, 0};
			break;
		case I_SPLIT:
			st[sp++] = (struct fr){in->y, -1, 0};
			st[sp++] = (struct fr){in->x, -1, 0};
			break;
		case I_SAVE:
			if (in->x < NSLOT) {
				st[sp++] = (struct fr){0, (int)in->x, cap[in->x]};
				cap[in->x] = (long)pos;
			}
			st[sp++] = (struct fr){pc + 1, -1, 0};
			break;
		case I_BOL:
			if (pos == 0)
				st[sp++] = (struct fr){pc + 1, -1, 0};
			break;
		case I_EOL:
			if (pos == vm->s.n)
				st[sp++] = (struct fr){pc + 1, -1, 0};
			break;
		case I_WORDB:
		case I_NWORDB: {
			bool wb = (pos > 0 && is_word(vm->s.p, vm->s.n, pos - 1)) != is_word(vm->s.p, vm->s.n, pos);
			if (wb == (in->op == I_WORDB))
				st[sp++] = (struct fr){pc + 1, -1, 0};
			break;
		}
		default: {
			thr_t *t = &l->t[l->n++];
			t->pc = pc;
			memcpy(t->cap, cap, sizeof cap);
			break;
		}
		}
	}
}

int jl__fp_re_exec(const fp_re_t *re, jl_str_t s, size_t from, bool anchored, long *caps, int ncaps, uint64_t *steps)
{
	fp_re_t *rw = (fp_re_t *)re; /* the scratch is ours while we run */
	vm_t vm = {.re = re, .s = s, .mark = rw->mark, .gen = rw->gen, .stack = rw->stack};
	tlist_t cl = {rw->cl, 0}, nl = {rw->nl, 0};
	/* Generations restart before they could wrap. */
	if ((uint64_t)vm.gen + 4 * ((uint64_t)s.n + 16) > UINT32_MAX) {
		memset(rw->mark, 0, re->n * sizeof *rw->mark);
		vm.gen = 0;
	}
	long init[NSLOT], best[NSLOT];
	for (int i = 0; i < NSLOT; i++)
		init[i] = -1;
	bool matched = false;
	size_t pos = from;
	vm.gen++;
	add(&vm, &cl, 0, init, pos);
	for (;;) {
		if (steps) {
			*steps += cl.n + 1;
			if (*steps > FP_MAX_STEPS) {
				rw->gen = vm.gen;
				return -1;
			}
		}
		if (!cl.n && (matched || anchored))
			break;
		size_t next = pos;
		uint32_t cp = 0;
		if (pos < s.n)
			cp = utf8_next(s.p, s.n, &next);
		vm.gen++;
		nl.n = 0;
		for (uint32_t i = 0; i < cl.n; i++) {
			const thr_t *t = &cl.t[i];
			const rinst_t *in = &re->prog[t->pc];
			bool ok = false;
			switch (in->op) {
			case I_MATCH:
				memcpy(best, t->cap, sizeof best);
				matched = true;
				i = cl.n; /* lower-priority threads are cut */
				continue;
			case I_CHAR: ok = pos < s.n && cp == in->x; break;
			case I_ANY: ok = pos < s.n; break;
			case I_CLASS: ok = pos < s.n && class_has(&re->cls[in->x], cp); break;
			default: break;
			}
			if (ok)
				add(&vm, &nl, t->pc + 1, t->cap, next);
		}
		if (pos >= s.n)
			break;
		pos = next;
		/* Unanchored: a new attempt starts here, at the lowest priority. */
		if (!matched && !anchored)
			add(&vm, &nl, 0, init, pos);
		tlist_t t = cl;
		cl = nl;
		nl = t;
	}
	/* Threads still alive at the end of the input may match. */
	for (uint32_t i = 0; i < cl.n && pos >= s.n; i++)
		if (re->prog[cl.t[i].pc].op == I_MATCH) {
			memcpy(best, cl.t[i].cap, sizeof best);
			matched = true;
			break;
		}
	rw->gen = vm.gen;
	if (!matched)
		return 0;
	for (int i = 0; i < ncaps && i < NSLOT; i++)
		caps[i] = best[i];
	for (int i = NSLOT; i < ncaps; i++)
		caps[i] = -1;
	return 1;
}
