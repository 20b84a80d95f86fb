/*
 * fhirpath_parse — the FHIRPath lexer and parser: source text in, an
 * immutable AST (fhirpath_int.h) out, allocated from the caller's arena.
 *
 * The parser is a precedence climber over the grammar of FHIRPath N1
 * (http://hl7.org/fhirpath/N1/grammar.html), from loosest to tightest:
 * implies (right-associative), or/xor, and, in/contains, = ~ != !~,
 * < > <= >=, |, is/as, + - &, * / div mod, unary + -, and the postfix
 * invocation '.' and indexer '[]'. Unary minus takes a whole postfix chain
 * as its operand, so -1.convertsToInteger() negates a Boolean (an error at
 * run time), as the grammar says.
 *
 * Everything that can be decided from the text alone is decided here, once:
 * function names become table indices (unknown names are syntax errors,
 * known but unimplemented ones JL_EUNSUPPORTED), type specifiers resolve
 * to model types, literals become items (quantities with their unit, dates
 * validated), so evaluation never looks at text again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath_int.h"

const fp_fninfo_t jl__fp_fns[F_COUNT] = {
	[F_NONE] = {"", 0, 0, 0},
#define FP_FN(id, nm, mn, mx, lam) [id] = {nm, mn, mx, lam},
#include "fhir/fhirpath_fn.h"
#undef FP_FN
};

typedef enum tok {
	T_EOF = 0,
	T_IDENT,    /* plain identifier or keyword */
	T_DELIM,    /* `delimited identifier` */
	T_STRING,
	T_NUMBER,
	T_DATE,
	T_DATETIME,
	T_TIME,
	T_EXT,      /* %name */
	T_THIS,
	T_INDEX_,
	T_TOTAL,
	T_DOT, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_COMMA,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_AMP, T_PIPE,
	T_LT, T_GT, T_LE, T_GE, T_EQ, T_TILDE, T_NE, T_NTILDE,
} tok;

typedef struct parser {
	jl_arena_t *a;
	jl_diag_t *d;
	const char *p;  /* source */
	size_t n, pos;  /* length, read position */
	tok t;          /* current token */
	size_t tpos;    /* its offset */
	jl_str_t tv;    /* its text (decoded for strings and identifiers) */
	int depth;
	jl_rc rc;       /* first error */
} parser_t;

static jl_rc perr(parser_t *ps, jl_rc rc, size_t pos, const char *fmt, ...) JL_PRINTF(4, 5);
static jl_rc perr(parser_t *ps, jl_rc rc, size_t pos, const char *fmt, ...)
{
	if (ps->rc)
		return ps->rc;
	ps->rc = rc;
	if (ps->d) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		jl_diag_err(ps->d, rc == JL_EUNSUPPORTED ? "not-supported" : rc == JL_ENOMEM ? "exception" : "invalid",
			    NULL, "FHIRPath %s at offset %zu: %s",
			    rc == JL_EUNSUPPORTED ? "unsupported" : rc == JL_EINVAL ? "syntax error" : "error", pos, msg);
	}
	return rc;
}

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* Appends the UTF-8 encoding of cp to b (room for 4 bytes). */
static size_t put_utf8(char *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | (cp >> 18));
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads a quoted string or delimited identifier starting at the quote; decodes escapes. */
static jl_rc lex_quoted(parser_t *ps, char q)
{
	size_t start = ps->pos + 1, i = start;
	bool esc = false;
	while (i < ps->n && ps->p[i] != q) {
		if (ps->p[i] == '\\') {
			esc = true;
			i++;
		}
		i++;
	}
	if (i >= ps->n)
		return perr(ps, JL_EINVAL, ps->pos, "unterminated %s", q == '`' ? "identifier" : "string");
	ps->pos = i + 1;
	if (!esc) {
		ps->tv = jl_str(ps->p + start, i - start);
		return JL_OK;
	}
	char *b = jl_arena_alloc_bytes(ps->a, i - start + 1);
	if (!b)
		return perr(ps, JL_ENOMEM, start, "out of memory");
	size_t o = 0;
	for (size_t k = start; k < i; k++) {
		char c = ps->p[k];
		if (c != '\\') {
			b[o++] = c;
			continue;
		}
		c = ps->p[++k];
		switch (c) {
		case 'n': b[o++] = '\n'; break;
		case 'r': b[o++] = '\r'; break;
		case 't': b[o++] = '\t'; break;
		case 'f': b[o++] = '\f'; break;
		case '\\': case '/': case '\'': case '"': case '`': b[o++] = c; break;
		case 'u': {
			uint32_t cp = 0;
			for (int j = 1; j <= 4; j++) {
				int h = k + (size_t)j < i ? hexval((unsigned char)ps->p[k + (size_t)j]) : -1;
				if (h < 0)
					return perr(ps, JL_EINVAL, k, "bad \\u escape");
				cp = cp * 16 + (uint32_t)h;
			}
			k += 4;
			/* A surrogate pair written as two escapes. */
			if (cp >= 0xd800 && cp < 0xdc00 && k + 6 < i + 1 && ps->p[k + 1] == '\\' && ps->p[k + 2] == 'u') {
				uint32_t lo = 0;
				int ok = 1;
				for (int j = 3; j <= 6; j++) {
					int h = k + (size_t)j < i ? hexval((unsigned char)ps->p[k + (size_t)j]) : -1;
					if (h < 0)
						ok = 0;
					else
						lo = lo * 16 + (uint32_t)h;
				}
				if (ok && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					k += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				return perr(ps, JL_EINVAL, k, "lone surrogate in \\u escape");
			/* A \uXXXX escape is at most 6 source bytes and encodes to at most 4. */
			o += put_utf8(b + o, cp);
			break;
		}
		default:
			/* Not an escape the grammar defines: kept as written, so that regular
			 * expressions such as matches('\\d+') reach the regex engine intact. */
			b[o++] = '\\';
			b[o++] = c;
			break;
		}
	}
	ps->tv = jl_str(b, o);
	return JL_OK;
}

static size_t digits(const char *p, size_t i, size_t n)
{
	size_t k = i;
	while (k < n && is_digit((unsigned char)p[k]))
		k++;
	return k - i;
}

/* After '@': a date, date-time or time literal. Sets ps->t and ps->tv (text without '@' and trailing 'T'). */
static jl_rc lex_datetime(parser_t *ps)
{
	const char *p = ps->p;
	size_t n = ps->n, i = ps->pos + 1, start = i;
	bool time_only = i < n && p[i] == 'T';
	tok t = T_DATE;
	if (time_only) {
		start = ++i;
		t = T_TIME;
	} else {
		if (digits(p, i, n) < 4)
			return perr(ps, JL_EINVAL, ps->pos, "bad date literal");
		i += 4;
		if (i + 2 < n && p[i] == '-' && digits(p, i + 1, n) >= 2) {
			i += 3;
			if (i + 2 < n && p[i] == '-' && digits(p, i + 1, n) >= 2)
				i += 3;
		}
		if (i < n && p[i] == 'T') {
			t = T_DATETIME;
			i++;
			if (!(i < n && is_digit((unsigned char)p[i]))) {
				ps->tv = jl_str(p + start, i - 1 - start);
				goto done;
			}
		}
	}
	if (t != T_DATE) {
		/* hh[:mm[:ss[.fff]]] */
		if (digits(p, i, n) < 2)
			return perr(ps, JL_EINVAL, ps->pos, "bad time in literal");
		i += 2;
		if (i + 2 < n + 0 && p[i] == ':' && digits(p, i + 1, n) >= 2) {
			i += 3;
			if (i + 2 < n + 0 && p[i] == ':' && digits(p, i + 1, n) >= 2) {
				i += 3;
				if (i + 1 < n && p[i] == '.' && digits(p, i + 1, n) >= 1)
					i += 1 + digits(p, i + 1, n);
			}
		}
		if (t == T_DATETIME && i < n) {
			if (p[i] == 'Z')
				i++;
			else if ((p[i] == '+' || p[i] == '-') && i + 5 < n + 0 && digits(p, i + 1, n) == 2 && p[i + 3] == ':' &&
				 digits(p, i + 4, n) == 2)
				i += 6;
		}
	}
	ps->tv = jl_str(p + start, i - start);
done:
	ps->pos = i;
	ps->t = t;
	fp_dt_t dt;
	uint8_t kind = t == T_DATE ? JL_FP_DATE : t == T_TIME ? JL_FP_TIME : JL_FP_DATETIME;
	if (!jl__fp_dt_parse(ps->tv, kind, &dt))
		return perr(ps, JL_EINVAL, ps->tpos, "invalid date/time literal @%.*s", JL_STR_FMT(ps->tv));
	return JL_OK;
}

static jl_rc next(parser_t *ps)
{
	const char *p = ps->p;
	size_t n = ps->n;
	if (ps->rc)
		return ps->rc;
	/* Whitespace and comments. */
	for (;;) {
		while (ps->pos < n && (p[ps->pos] == ' ' || p[ps->pos] == '\t' || p[ps->pos] == '\n' || p[ps->pos] == '\r' ||
				       p[ps->pos] == '\f'))
			ps->pos++;
		if (ps->pos + 1 < n && p[ps->pos] == '/' && p[ps->pos + 1] == '/') {
			while (ps->pos < n && p[ps->pos] != '\n')
				ps->pos++;
			continue;
		}
		if (ps->pos + 1 < n && p[ps->pos] == '/' && p[ps->pos + 1] == '*') {
			size_t start = ps->pos;
			ps->pos += 2;
			while (ps->pos + 1 < n && !(p[ps->pos] == '*' && p[ps->pos + 1] == '/'))
				ps->pos++;
			if (ps->pos + 1 >= n)
				return perr(ps, JL_EINVAL, start, "unterminated comment");
			ps->pos += 2;
			continue;
		}
		break;
	}
	ps->tpos = ps->pos;
	ps->tv = JL_STR_NULL;
	if (ps->pos >= n) {
		ps->t = T_EOF;
		return JL_OK;
	}
	char c = p[ps->pos];
	if (is_alpha((unsigned char)c)) {
		size_t i = ps->pos;
		while (i < n && (is_alpha((unsigned char)p[i]) || is_digit((unsigned char)p[i])))
			i++;
		ps->t = T_IDENT;
		ps->tv = jl_str(p + ps->pos, i - ps->pos);
		ps->pos = i;
		return JL_OK;
	}
	if (is_digit((unsigned char)c)) {
		size_t i = ps->pos + digits(p, ps->pos, n);
		if (i + 1 < n && p[i] == '.' && is_digit((unsigned char)p[i + 1]))
			i += 1 + digits(p, i + 1, n);
		ps->t = T_NUMBER;
		ps->tv = jl_str(p + ps->pos, i - ps->pos);
		ps->pos = i;
		return JL_OK;
	}
	ps->pos++;
	switch (c) {
	case '\'':
		ps->pos--;
		ps->t = T_STRING;
		return lex_quoted(ps, '\'');
	case '`':
		ps->pos--;
		ps->t = T_DELIM;
		return lex_quoted(ps, '`');
	case '@':
		ps->pos--;
		return lex_datetime(ps);
	case '%':
		if (ps->pos < n && (p[ps->pos] == '`' || p[ps->pos] == '\'')) {
			jl_rc rc = lex_quoted(ps, p[ps->pos]);
			ps->t = T_EXT;
			return rc;
		}
		if (ps->pos < n && is_alpha((unsigned char)p[ps->pos])) {
			size_t i = ps->pos;
			while (i < n && (is_alpha((unsigned char)p[i]) || is_digit((unsigned char)p[i])))
				i++;
			ps->t = T_EXT;
			ps->tv = jl_str(p + ps->pos, i - ps->pos);
			ps->pos = i;
			return JL_OK;
		}
		return perr(ps, JL_EINVAL, ps->tpos, "bad external constant");
	case '$': {
		size_t i = ps->pos;
		while (i < n && is_alpha((unsigned char)p[i]))
			i++;
		jl_str_t w = jl_str(p + ps->pos, i - ps->pos);
		ps->pos = i;
		if (jl_str_eqc(w, "this"))
			ps->t = T_THIS;
		else if (jl_str_eqc(w, "index"))
			ps->t = T_INDEX_;
		else if (jl_str_eqc(w, "total"))
			ps->t = T_TOTAL;
		else
			return perr(ps, JL_EINVAL, ps->tpos, "unknown $%.*s", JL_STR_FMT(w));
		return JL_OK;
	}
	case '.': ps->t = T_DOT; return JL_OK;
	case '[': ps->t = T_LBRACK; return JL_OK;
	case ']': ps->t = T_RBRACK; return JL_OK;
	case '(': ps->t = T_LPAREN; return JL_OK;
	case ')': ps->t = T_RPAREN; return JL_OK;
	case '{': ps->t = T_LBRACE; return JL_OK;
	case '}': ps->t = T_RBRACE; return JL_OK;
	case ',': ps->t = T_COMMA; return JL_OK;
	case '+': ps->t = T_PLUS; return JL_OK;
	case '-': ps->t = T_MINUS; return JL_OK;
	case '*': ps->t = T_STAR; return JL_OK;
	case '/': ps->t = T_SLASH; return JL_OK;
	case '&': ps->t = T_AMP; return JL_OK;
	case '|': ps->t = T_PIPE; return JL_OK;
	case '=': ps->t = T_EQ; return JL_OK;
	case '~': ps->t = T_TILDE; return JL_OK;
	case '<':
		ps->t = T_LT;
		if (ps->pos < n && p[ps->pos] == '=') {
			ps->pos++;
			ps->t = T_LE;
		}
		return JL_OK;
	case '>':
		ps->t = T_GT;
		if (ps->pos < n && p[ps->pos] == '=') {
			ps->pos++;
			ps->t = T_GE;
		}
		return JL_OK;
	case '!':
		if (ps->pos < n && p[ps->pos] == '=') {
			ps->pos++;
			ps->t = T_NE;
			return JL_OK;
		}
		if (ps->pos < n && p[ps->pos] == '~') {
			ps->pos++;
			ps->t = T_NTILDE;
			return JL_OK;
		}
		break;
	default:
		break;
	}
	return perr(ps, JL_EINVAL, ps->tpos, "unexpected character '%c'", c >= 32 && c < 127 ? c : '?');
}

static bool is_kw(const parser_t *ps, const char *kw)
{
	return ps->t == T_IDENT && jl_str_eqc(ps->tv, kw);
}

static fp_node_t *mk(parser_t *ps, uint8_t kind, size_t pos)
{
	fp_node_t *n = jl_arena_calloc(ps->a, 1, sizeof *n);
	if (!n) {
		perr(ps, JL_ENOMEM, pos, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->pos = (uint32_t)pos;
	n->h = 1;
	return n;
}

/* Sets n's height from its children; NULL (an error) past the depth cap. */
static fp_node_t *seal(parser_t *ps, fp_node_t *n)
{
	int h = 0;
	if (n->left && n->left->h > h)
		h = n->left->h;
	if (n->right && n->right->h > h)
		h = n->right->h;
	for (int i = 0; i < n->nargs; i++)
		if (n->args[i]->h > h)
			h = n->args[i]->h;
	if (h + 1 > FP_MAX_DEPTH) {
		perr(ps, JL_ETOOBIG, n->pos, "expression nested deeper than %d", FP_MAX_DEPTH);
		return NULL;
	}
	n->h = (uint16_t)(h + 1);
	return n;
}

static fp_node_t *parse_expr(parser_t *ps, int minprec);

static const char *const calendar_words[] = {
	"year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours",
	"minute", "minutes", "second", "seconds", "millisecond", "milliseconds",
};

static bool is_calendar_word(jl_str_t w)
{
	for (size_t i = 0; i < sizeof calendar_words / sizeof *calendar_words; i++)
		if (jl_str_eqc(w, calendar_words[i]))
			return true;
	return false;
}

/* A number literal (and the unit of a quantity literal after it). */
static fp_node_t *parse_number(parser_t *ps)
{
	size_t pos = ps->tpos;
	jl_str_t text = ps->tv;
	fp_node_t *n = mk(ps, N_LIT, pos);
	if (!n || next(ps))
		return NULL;
	bool isdec = memchr(text.p, '.', text.n) != NULL;
	fp_dec_t dv;
	if (!jl__fp_dec_parse(text, &dv)) {
		perr(ps, JL_EINVAL, pos, "number literal out of range");
		return NULL;
	}
	if (ps->t == T_STRING || (ps->t == T_IDENT && is_calendar_word(ps->tv))) {
		n->lit.kind = JL_FP_QUANTITY;
		n->lit.num = text;
		n->lit.d = jl__fp_dec_double(dv);
		n->lit.s = ps->tv;
		if (next(ps))
			return NULL;
		return n;
	}
	if (isdec) {
		n->lit.kind = JL_FP_DECIMAL;
		n->lit.s = text;
		n->lit.d = jl__fp_dec_double(dv);
	} else {
		if (dv.m > INT64_MAX) {
			perr(ps, JL_EINVAL, pos, "integer literal out of range");
			return NULL;
		}
		n->lit.kind = JL_FP_INTEGER;
		n->lit.i = (int64_t)dv.m;
	}
	return n;
}

/* The text of a type specifier written as an expression (is()/as()/ofType() arguments). */
static bool node_typename(parser_t *ps, const fp_node_t *n, jl_str_t *out)
{
	if (n->kind == N_IDENT) {
		*out = n->name;
		return true;
	}
	if (n->kind == N_MEMBER && n->left && n->left->kind == N_IDENT) {
		size_t len = n->left->name.n + 1 + n->name.n;
		char *b = jl_arena_alloc_bytes(ps->a, len);
		if (!b)
			return false;
		memcpy(b, n->left->name.p, n->left->name.n);
		b[n->left->name.n] = '.';
		memcpy(b + n->left->name.n + 1, n->name.p, n->name.n);
		*out = jl_str(b, len);
		return true;
	}
	return false;
}

static bool resolve_tspec(parser_t *ps, jl_str_t name, size_t pos, fp_tspec_t *ts)
{
	if (jl__fp_tspec(name, ts))
		return true;
	perr(ps, JL_EINVAL, pos, "unknown type %.*s", JL_STR_FMT(name));
	return false;
}

static int fn_lookup(jl_str_t name)
{
	for (int i = 1; i < F_COUNT; i++)
		if (jl_str_eqc(name, jl__fp_fns[i].name))
			return i;
	return 0;
}

static bool fn_unsupported(int fn)
{
	return fn >= F_MEMBEROF;
}

/* name '(' args ')' with ps->t at '('. */
static fp_node_t *parse_call(parser_t *ps, fp_node_t *left, jl_str_t name, size_t pos)
{
	int fn = fn_lookup(name);
	if (!fn) {
		perr(ps, JL_EINVAL, pos, "unknown function %.*s()", JL_STR_FMT(name));
		return NULL;
	}
	if (fn_unsupported(fn)) {
		perr(ps, JL_EUNSUPPORTED, pos, "function %.*s() is not supported", JL_STR_FMT(name));
		return NULL;
	}
	fp_node_t *n = mk(ps, N_CALL, pos);
	if (!n || next(ps))
		return NULL;
	n->left = left;
	n->fn = (uint16_t)fn;
	n->name = name;
	fp_node_t *args[16];
	int na = 0;
	if (ps->t != T_RPAREN) {
		for (;;) {
			if (na == 16) {
				perr(ps, JL_EINVAL, ps->tpos, "too many arguments");
				return NULL;
			}
			if (!(args[na++] = parse_expr(ps, 0)))
				return NULL;
			if (ps->t == T_COMMA) {
				if (next(ps))
					return NULL;
				continue;
			}
			break;
		}
	}
	if (ps->t != T_RPAREN) {
		perr(ps, JL_EINVAL, ps->tpos, "expected ')' after the arguments of %.*s()", JL_STR_FMT(name));
		return NULL;
	}
	if (next(ps))
		return NULL;
	const fp_fninfo_t *fi = &jl__fp_fns[fn];
	if (na < fi->min || na > fi->max) {
		perr(ps, JL_EINVAL, pos, "%.*s() takes %d to %d arguments, not %d", JL_STR_FMT(name), fi->min, fi->max, na);
		return NULL;
	}
	n->nargs = (uint16_t)na;
	if (na) {
		n->args = jl_arena_alloc(ps->a, (size_t)na * sizeof *n->args);
		if (!n->args) {
			perr(ps, JL_ENOMEM, pos, "out of memory");
			return NULL;
		}
		memcpy(n->args, args, (size_t)na * sizeof *args);
	}
	if (fn == F_IS || fn == F_AS || fn == F_OFTYPE) {
		jl_str_t tn;
		if (!node_typename(ps, args[0], &tn)) {
			perr(ps, ps->rc ? ps->rc : JL_EINVAL, args[0]->pos, "%.*s() needs a type name", JL_STR_FMT(name));
			return NULL;
		}
		if (!resolve_tspec(ps, tn, args[0]->pos, &n->ts))
			return NULL;
	}
	return seal(ps, n);
}

/* An identifier token (plain, keyword or delimited) usable as a name. */
static bool tok_is_name(const parser_t *ps)
{
	return ps->t == T_IDENT || ps->t == T_DELIM;
}

static bool is_reserved(jl_str_t w)
{
	static const char *const kws[] = {"and", "or", "xor", "implies", "div", "mod", "true", "false"};
	for (size_t i = 0; i < sizeof kws / sizeof *kws; i++)
		if (jl_str_eqc(w, kws[i]))
			return true;
	return false;
}

static fp_node_t *parse_term(parser_t *ps)
{
	size_t pos = ps->tpos;
	fp_node_t *n;
	switch (ps->t) {
	case T_NUMBER:
		return parse_number(ps);
	case T_STRING:
		if (!(n = mk(ps, N_LIT, pos)))
			return NULL;
		n->lit = jl__fp_str(ps->tv);
		return next(ps) ? NULL : n;
	case T_DATE:
	case T_DATETIME:
	case T_TIME:
		if (!(n = mk(ps, N_LIT, pos)))
			return NULL;
		n->lit.kind = ps->t == T_DATE ? JL_FP_DATE : ps->t == T_TIME ? JL_FP_TIME : JL_FP_DATETIME;
		n->lit.s = ps->tv;
		return next(ps) ? NULL : n;
	case T_LBRACE:
		if (next(ps))
			return NULL;
		if (ps->t != T_RBRACE) {
			perr(ps, JL_EINVAL, ps->tpos, "expected '}'");
			return NULL;
		}
		if (!(n = mk(ps, N_EMPTY, pos)))
			return NULL;
		return next(ps) ? NULL : n;
	case T_LPAREN:
		if (next(ps))
			return NULL;
		if (!(n = parse_expr(ps, 0)))
			return NULL;
		if (ps->t != T_RPAREN) {
			perr(ps, JL_EINVAL, ps->tpos, "expected ')'");
			return NULL;
		}
		return next(ps) ? NULL : n;
	case T_EXT:
		if (!(n = mk(ps, N_VAR, pos)))
			return NULL;
		n->name = ps->tv;
		return next(ps) ? NULL : n;
	case T_THIS:
	case T_INDEX_:
	case T_TOTAL:
		if (!(n = mk(ps, ps->t == T_THIS ? N_THIS : ps->t == T_INDEX_ ? N_INDEX : N_TOTAL, pos)))
			return NULL;
		return next(ps) ? NULL : n;
	case T_IDENT:
		if (is_kw(ps, "true") || is_kw(ps, "false")) {
			if (!(n = mk(ps, N_LIT, pos)))
				return NULL;
			n->lit = jl__fp_bool(is_kw(ps, "true"));
			return next(ps) ? NULL : n;
		}
		if (is_reserved(ps->tv)) {
			perr(ps, JL_EINVAL, pos, "unexpected '%.*s'", JL_STR_FMT(ps->tv));
			return NULL;
		}
		/* fallthrough */
	case T_DELIM: {
		jl_str_t name = ps->tv;
		bool plain = ps->t == T_IDENT;
		if (next(ps))
			return NULL;
		if (plain && ps->t == T_LPAREN)
			return parse_call(ps, NULL, name, pos);
		if (!(n = mk(ps, N_IDENT, pos)))
			return NULL;
		n->name = name;
		/* A type name at the start of a path filters the context by type (Patient.name). */
		if (name.n && name.p[0] >= 'A' && name.p[0] <= 'Z') {
			const jl_fhir_type_t *t = jl_fhir_type(name);
			if (t && t->kind != JL_FHIR_BACKBONE && t->kind != JL_FHIR_PRIMITIVE)
				n->ts.fhir = t;
		}
		return n;
	}
	case T_EOF:
		perr(ps, JL_EINVAL, pos, "unexpected end of expression");
		return NULL;
	default:
		perr(ps, JL_EINVAL, pos, "unexpected token");
		return NULL;
	}
}

static fp_node_t *parse_postfix(parser_t *ps)
{
	fp_node_t *n = parse_term(ps);
	while (n) {
		size_t pos = ps->tpos;
		if (ps->t == T_DOT) {
			if (next(ps))
				return NULL;
			if (!tok_is_name(ps)) {
				perr(ps, JL_EINVAL, ps->tpos, "expected a name after '.'");
				return NULL;
			}
			jl_str_t name = ps->tv;
			bool plain = ps->t == T_IDENT;
			size_t npos = ps->tpos;
			if (next(ps))
				return NULL;
			if (plain && ps->t == T_LPAREN) {
				n = parse_call(ps, n, name, npos);
				continue;
			}
			fp_node_t *m = mk(ps, N_MEMBER, npos);
			if (!m)
				return NULL;
			m->left = n;
			m->name = name;
			n = seal(ps, m);
		} else if (ps->t == T_LBRACK) {
			if (next(ps))
				return NULL;
			fp_node_t *ix = parse_expr(ps, 0);
			if (!ix)
				return NULL;
			if (ps->t != T_RBRACK) {
				perr(ps, JL_EINVAL, ps->tpos, "expected ']'");
				return NULL;
			}
			if (next(ps))
				return NULL;
			fp_node_t *m = mk(ps, N_INDEXER, pos);
			if (!m)
				return NULL;
			m->left = n;
			m->right = ix;
			n = seal(ps, m);
		} else {
			break;
		}
	}
	return n;
}

static fp_node_t *parse_unary(parser_t *ps)
{
	if (ps->t == T_PLUS || ps->t == T_MINUS) {
		size_t pos = ps->tpos;
		bool neg = ps->t == T_MINUS;
		if (++ps->depth > FP_MAX_DEPTH) {
			perr(ps, JL_ETOOBIG, pos, "expression nested deeper than %d", FP_MAX_DEPTH);
			return NULL;
		}
		if (next(ps))
			return NULL;
		fp_node_t *operand = parse_unary(ps);
		ps->depth--;
		if (!operand)
			return NULL;
		fp_node_t *n = mk(ps, neg ? N_NEG : N_POS, pos);
		if (!n)
			return NULL;
		n->left = operand;
		return seal(ps, n);
	}
	return parse_postfix(ps);
}

/* The binary operator at the current token: its op and precedence (0: none). */
static int binop(const parser_t *ps, uint8_t *op)
{
	switch (ps->t) {
	case T_STAR: *op = OP_MUL; return 10;
	case T_SLASH: *op = OP_DIV; return 10;
	case T_PLUS: *op = OP_ADD; return 9;
	case T_MINUS: *op = OP_SUB; return 9;
	case T_AMP: *op = OP_CONCAT; return 9;
	case T_PIPE: *op = OP_UNION; return 7;
	case T_LT: *op = OP_LT; return 6;
	case T_GT: *op = OP_GT; return 6;
	case T_LE: *op = OP_LE; return 6;
	case T_GE: *op = OP_GE; return 6;
	case T_EQ: *op = OP_EQ; return 5;
	case T_TILDE: *op = OP_EQUIV; return 5;
	case T_NE: *op = OP_NE; return 5;
	case T_NTILDE: *op = OP_NEQUIV; return 5;
	case T_IDENT:
		if (is_kw(ps, "div")) { *op = OP_IDIV; return 10; }
		if (is_kw(ps, "mod")) { *op = OP_MOD; return 10; }
		if (is_kw(ps, "is")) { *op = 0; return 8; }
		if (is_kw(ps, "as")) { *op = 1; return 8; }
		if (is_kw(ps, "in")) { *op = OP_IN; return 4; }
		if (is_kw(ps, "contains")) { *op = OP_CONTAINS; return 4; }
		if (is_kw(ps, "and")) { *op = OP_AND; return 3; }
		if (is_kw(ps, "or")) { *op = OP_OR; return 2; }
		if (is_kw(ps, "xor")) { *op = OP_XOR; return 2; }
		if (is_kw(ps, "implies")) { *op = OP_IMPLIES; return 1; }
		return 0;
	default:
		return 0;
	}
}

/* typeSpecifier after is/as: identifier, or FHIR./System. qualified. */
static bool parse_tspec(parser_t *ps, fp_tspec_t *ts)
{
	size_t pos = ps->tpos;
	if (!tok_is_name(ps)) {
		perr(ps, JL_EINVAL, pos, "expected a type name");
		return false;
	}
	jl_str_t name = ps->tv;
	if (next(ps))
		return false;
	if ((jl_str_eqc(name, "FHIR") || jl_str_eqc(name, "System")) && ps->t == T_DOT) {
		if (next(ps))
			return false;
		if (!tok_is_name(ps)) {
			perr(ps, JL_EINVAL, ps->tpos, "expected a type name");
			return false;
		}
		size_t len = name.n + 1 + ps->tv.n;
		char *b = jl_arena_alloc_bytes(ps->a, len);
		if (!b) {
			perr(ps, JL_ENOMEM, pos, "out of memory");
			return false;
		}
		memcpy(b, name.p, name.n);
		b[name.n] = '.';
		memcpy(b + name.n + 1, ps->tv.p, ps->tv.n);
		name = jl_str(b, len);
		if (next(ps))
			return false;
	}
	return resolve_tspec(ps, name, pos, ts);
}

static fp_node_t *parse_expr(parser_t *ps, int minprec)
{
	if (++ps->depth > FP_MAX_DEPTH) {
		perr(ps, JL_ETOOBIG, ps->tpos, "expression nested deeper than %d", FP_MAX_DEPTH);
		return NULL;
	}
	fp_node_t *left = parse_unary(ps);
	while (left) {
		uint8_t op;
		size_t pos = ps->tpos;
		int prec = binop(ps, &op);
		if (!prec || prec < minprec)
			break;
		if (next(ps))
			return NULL;
		fp_node_t *n;
		if (prec == 8) {
			if (!(n = mk(ps, op ? N_AS : N_IS, pos)))
				return NULL;
			n->left = left;
			if (!parse_tspec(ps, &n->ts))
				return NULL;
			left = seal(ps, n);
			continue;
		}
		/* implies is right-associative; everything else left. */
		fp_node_t *right = parse_expr(ps, op == OP_IMPLIES ? prec : prec + 1);
		if (!right)
			return NULL;
		if (!(n = mk(ps, N_BIN, pos)))
			return NULL;
		n->op = op;
		n->left = left;
		n->right = right;
		left = seal(ps, n);
	}
	ps->depth--;
	return left;
}

jl_rc jl_fp_compile(jl_arena_t *a, jl_str_t src, jl_fp_expr_t **out, jl_diag_t *d)
{
	parser_t ps = {.a = a, .d = d};
	*out = NULL;
	if (src.n > FP_MAX_SRC)
		return perr(&ps, JL_ETOOBIG, 0, "expression longer than %u bytes", FP_MAX_SRC);
	/* The tree points into its own copy of the text. */
	jl_str_t copy = src.n ? jl_arena_str(a, src) : JL_STR("");
	if (!copy.p)
		return perr(&ps, JL_ENOMEM, 0, "out of memory");
	ps.p = copy.p;
	ps.n = copy.n;
	if (next(&ps))
		return ps.rc;
	fp_node_t *root = parse_expr(&ps, 0);
	if (!root)
		return ps.rc ? ps.rc : perr(&ps, JL_EINVAL, ps.tpos, "syntax error");
	if (ps.t != T_EOF)
		return perr(&ps, JL_EINVAL, ps.tpos, "unexpected text after the expression");
	jl_fp_expr_t *e = jl_arena_alloc(a, sizeof *e);
	if (!e)
		return perr(&ps, JL_ENOMEM, 0, "out of memory");
	e->root = root;
	e->src = copy;
	*out = e;
	return JL_OK;
}

jl_rc jl_fp_split_member(jl_arena_t *a, const jl_fp_expr_t *e, jl_fp_expr_t **parent, jl_str_t *name)
{
	const fp_node_t *r = e ? e->root : NULL;
	if (!r || r->kind != N_MEMBER || !r->left || r->pos > e->src.n)
		return JL_EINVAL;
	jl_fp_expr_t *p = jl_arena_alloc(a, sizeof *p);
	if (!p)
		return JL_ENOMEM;
	/* The member's position is its name's; drop the '.' and blanks before it. */
	size_t end = r->pos;
	while (end && strchr(" \t\r\n", e->src.p[end - 1]))
		end--;
	if (end && e->src.p[end - 1] == '.')
		end--;
	while (end && strchr(" \t\r\n", e->src.p[end - 1]))
		end--;
	p->root = r->left;
	p->src = jl_str(e->src.p, end);
	*parent = p;
	*name = r->name;
	return JL_OK;
}

jl_str_t jl_fp_source(const jl_fp_expr_t *e)
{
	return e ? e->src : JL_STR_NULL;
}
