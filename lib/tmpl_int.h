/*
 * tmpl_int.h - internals of the chat-template interpreter (lib/tmpl*.c).
 *
 * Pipeline: tmpl_lex.c turns the source into tokens exactly as jinja2's lexer
 * does (newline normalisation, trim_blocks, lstrip_blocks, "-"/"+" whitespace
 * control, raw blocks, comments); tmpl_parse.c builds the tree with jinja2's
 * grammar and node line numbers; tmpl_eval.c walks it; tmpl_val.c holds the
 * Python-like values (str(), repr(), json.dumps(), ==, <, hashing);
 * tmpl_lib.c the filters, tests, global functions and methods; tmpl_ucd.c
 * the generated Unicode tables (case mapping, isprintable, ...).
 *
 * Invariants:
 * - Every string (tstr) is valid UTF-8 (template source and variables are
 *   checked on the way in; every operation preserves validity) and carries
 *   its length; NUL bytes are allowed inside.
 * - Values (tv) are small structs passed by value.  What they point to lives
 *   in an arena: the template's (constants, names; read-only during render)
 *   or the render's (everything made while rendering, freed at once).  The
 *   only value mutated after creation is a namespace's attribute dict.
 * - Every function that can fail returns -1 (or NULL) after q_error() and
 *   the render stops; nothing is printed, nothing aborts.
 */
#ifndef Q_TMPL_INT_H
#define Q_TMPL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "tmpl.h"

/* ---- arena ------------------------------------------------------------ */

typedef struct tchunk tchunk;
typedef struct tarena {
	tchunk *head;
	size_t total;  /* bytes taken from malloc so far */
	size_t limit;  /* fail (q_error) rather than take more than this */
} tarena;

void *ta_alloc(tarena *a, size_t n);                 /* zeroed, aligned */
/* Grows the block p (old bytes) to n bytes; returns the (maybe moved) block. */
void *ta_grow(tarena *a, void *p, size_t old, size_t n);
char *ta_strdup(tarena *a, const char *s, size_t n); /* NUL-terminated copy */
void ta_free(tarena *a);

/* ---- values ----------------------------------------------------------- */

typedef struct tstr {
	const char *p;
	size_t n;
} tstr;

enum {
	V_UNDEF,  /* jinja2 Undefined; u.s = name / message, k = U_* */
	V_NONE,
	V_BOOL,   /* u.i is 0 or 1 */
	V_INT,    /* u.i (Python int, limited to 64 bits: overflow is an error) */
	V_FLOAT,  /* u.f */
	V_STR,    /* u.s; k = 1 for markupsafe.Markup (from |safe, |escape) */
	V_LIST,   /* u.l; k = L_* says which Python type it stands for */
	V_DICT,   /* u.d (insertion ordered, like Python dicts) */
	V_NS,     /* namespace(): u.d holds its attributes (mutable) */
	V_LOOP,   /* the loop variable of a for loop */
	V_MACRO,  /* a macro, or the caller of a call block */
	V_FUNC,   /* a global function (range, namespace, ...): u.i = F_* */
	V_METHOD, /* bound method: u.m */
};

enum { U_NAME, U_ATTR, U_HINT, U_SECURITY };  /* V_UNDEF kinds */
enum { L_LIST, L_TUPLE, L_GEN, L_RANGE, L_ITEMS, L_KEYS, L_VALUES };

typedef struct tlist tlist;
typedef struct tdict tdict;
typedef struct tloop tloop;
typedef struct tmacro tmacro;
typedef struct tmethod tmethod;

typedef struct tv {
	uint8_t t;  /* V_* */
	uint8_t k;  /* V_UNDEF: U_*; V_STR: markup flag; V_LIST: L_* */
	uint8_t o;  /* V_UNDEF U_ATTR: V_* type of the object that lacked it */
	union {
		int64_t i;
		double f;
		tstr s;
		tlist *l;
		tdict *d;
		tloop *lp;
		tmacro *m;
		tmethod *bm;
	} u;
} tv;

struct tlist {
	size_t n, cap;
	tv *v;
	int64_t start, stop, step;  /* L_RANGE: the arguments, for repr */
	size_t pos;  /* L_GEN: items before pos are consumed (a generator runs once) */
};

struct tdict {
	size_t n, cap;
	tv *k, *v;
	uint32_t *idx;  /* open-addressing index (slot = entry + 1), or NULL */
	size_t icap;
};

struct tmethod {
	tv self;
	int id;         /* M_* in tmpl_lib.c */
	int64_t state;  /* cycler position, joiner "used" flag */
};

/* ---- tokens and nodes ------------------------------------------------- */

enum {
	TK_EOF, TK_DATA, TK_VAR_BEGIN, TK_VAR_END, TK_BLOCK_BEGIN, TK_BLOCK_END,
	TK_NAME, TK_STRING, TK_INT, TK_FLOAT,
	TK_ADD, TK_SUB, TK_DIV, TK_FLOORDIV, TK_MUL, TK_MOD, TK_POW, TK_TILDE,
	TK_LBRACKET, TK_RBRACKET, TK_LPAREN, TK_RPAREN, TK_LBRACE, TK_RBRACE,
	TK_EQ, TK_NE, TK_GT, TK_GTEQ, TK_LT, TK_LTEQ, TK_ASSIGN, TK_DOT,
	TK_COLON, TK_PIPE, TK_COMMA, TK_SEMICOLON,
};

typedef struct ttok {
	int type, line;
	tstr s;     /* TK_NAME: identifier; TK_STRING: unescaped value; TK_DATA */
	int64_t i;  /* TK_INT */
	double f;   /* TK_FLOAT */
} ttok;

/* Tokenises src (len bytes) into *toks (malloc'd, *ntoks entries, ending in
 * TK_EOF); strings and names live in arena a.  -1 + q_error on a lexical
 * error ("template line N: ..."). */
int tmpl_lex(const char *src, size_t len, tarena *a, ttok **toks, size_t *ntoks);

enum {
	/* statements */
	N_DATA, N_OUTPUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_CALLBLOCK,
	N_FILTERBLOCK, N_WITH, N_BREAK, N_CONTINUE, N_SCOPE,
	/* expressions */
	E_CONST, E_NAME, E_NSREF, E_GETATTR, E_GETITEM, E_SLICE, E_CALL,
	E_FILTER, E_TEST, E_LIST, E_TUPLE, E_DICT, E_BIN, E_NEG, E_POS, E_NOT,
	E_AND, E_OR, E_COND, E_COMPARE, E_CONCAT, E_KW,
};

/* E_BIN / E_COMPARE operators reuse the token numbers (TK_ADD, TK_EQ...);
 * these two are the rest of the comparison operators. */
enum { OP_IN = 100, OP_NOTIN };

typedef struct tnode tnode;
typedef struct tnlist {
	tnode **v;
	int n;
} tnlist;

/*
 * One node type for everything; which fields mean what:
 *   N_DATA       s = text
 *   N_OUTPUT     a = expression (one per {{ }} item)
 *   N_IF         a = test, l1 = body, l2 = else body (an elif is an N_IF there)
 *   N_FOR        a = target, b = iterable, c = filter condition or NULL,
 *                l1 = body, l2 = else body, op = 1 if recursive
 *   N_SET        a = target (E_NAME / E_NSREF / E_TUPLE), b = value
 *   N_SETBLOCK   a = target, c = filter chain (innermost operand NULL), l1 = body
 *   N_MACRO      s = name, l2 = parameters (E_NAME, ->a = default or NULL),
 *                l1 = body, op = M_USES_* flags
 *   N_CALLBLOCK  a = the E_CALL, l2 = parameters, l1 = body, op = flags
 *   N_FILTERBLOCK c = filter chain, l1 = body
 *   N_WITH       l2 = targets, l3 = values, l1 = body
 *   N_SCOPE      l1 = body (transformers' {% generation %})
 *   E_CONST      v;   E_NAME s;   E_NSREF s = name, s2 = attribute
 *   E_GETATTR    a . s;   E_GETITEM a [ b ];   E_SLICE a : b : c (NULL = none)
 *   E_CALL       a ( l1, l2 = E_KW(s = name, a = value), *b, **c )
 *   E_FILTER     a | s ( args as E_CALL ), op = filter id
 *   E_TEST       a is s ( args ), op = test id
 *   E_LIST/E_TUPLE l1;  E_DICT l1 = keys, l2 = values
 *   E_BIN        a op b;  E_NEG/E_POS/E_NOT a;  E_AND/E_OR a, b
 *   E_COND       b if a else c;  E_COMPARE a, l1 = operands (E_KW-like: op, a)
 *   E_CONCAT     l1
 */
struct tnode {
	int kind, line, op;
	int cnst;  /* expression jinja2's optimizer folds to a constant */
	tstr s, s2;
	tv v;
	tnode *a, *b, *c;
	tnlist l1, l2, l3;
};

enum { M_USES_CALLER = 1, M_USES_VARARGS = 2, M_USES_KWARGS = 4 };

struct q_tmpl {
	tarena arena;
	tnlist body;
};

/* Parses the tokens into t->body (nodes in t->arena). -1 + q_error. */
int tmpl_parse_tokens(q_tmpl *t, const ttok *toks, size_t ntoks);

/* ---- rendering (tmpl_eval.c) ------------------------------------------ */

typedef struct tscope tscope;
struct tscope {
	tscope *parent;
	tdict *vars;
	int captured;  /* a macro or caller closes over it: never reuse it */
};

struct tloop {
	tlist *items;
	int64_t i0;         /* index0 of the current item */
	int depth0;
	const tnode *node;  /* the recursive for loop, for loop(...) */
	tscope *scope;      /* where that loop runs */
	tv changed;         /* last loop.changed() arguments (V_UNDEF: none yet) */
};

struct tmacro {
	const tnode *def;   /* N_MACRO or N_CALLBLOCK */
	tscope *closure;
	tstr name;
};

typedef struct trender {
	tarena a;
	const q_tmpl *t;
	tdict *vars;        /* the render variables */
	tscope *scope;      /* innermost scope */
	q_buf *out;         /* where output goes now (a capture or the caller's) */
	int line;           /* line of the statement running (for errors) */
	int depth;          /* evaluation nesting (values, calls) */
	int calls;          /* macro / recursive loop calls in progress */
	int ctl;            /* pending break (1) or continue (2) */
	int fold;           /* evaluating a constant expression as jinja2's optimizer does */
	const tnode *out_root;  /* expression of the {{ }} being printed */
	uint64_t steps;
	q_tmpl_limits lim;
} trender;

/* Value helpers (tmpl_val.c).  All allocate from r->a. */
tv tv_none(void);
tv tv_bool(int b);
tv tv_int(int64_t i);
tv tv_float(double f);
tv tv_strv(const char *p, size_t n);           /* no copy */
int tv_str_copy(trender *r, const char *p, size_t n, tv *out);
int tv_str_from_buf(trender *r, q_buf *b, tv *out);  /* copies, resets b */
tv tv_undef_name(tstr name);
tv tv_undef_attr(tv obj, tstr attr);
tv tv_undef_hint(const char *msg);             /* msg: static or arena */
int tv_undef_elem(trender *r, tv obj, tv key, tv *out);
int tv_undef_error(trender *r, tv u);          /* q_error with its message */
tlist *tl_new(trender *r, size_t cap);
int tl_push(trender *r, tlist *l, tv v);
tv tv_list(tlist *l, int kind);
tdict *td_new(trender *r);
int td_set(trender *r, tdict *d, tv k, tv v);
/* 1 found (*out set), 0 not found, -1 error (unhashable key). */
int td_get(trender *r, const tdict *d, tv k, tv *out);
int td_gets(const tdict *d, const char *k, size_t n, tv *out);  /* string key */
int tv_truth(tv v);
int tv_eq(trender *r, tv a, tv b);             /* 1, 0, or -1 (error) */
int tv_less(trender *r, tv a, tv b);           /* a < b: 1, 0, or -1 (TypeError) */
const char *tv_typename(tv v);                 /* Python type(v).__name__ */
int tv_str(trender *r, q_buf *b, tv v);        /* append str(v) */
int tv_repr(trender *r, q_buf *b, tv v);       /* append repr(v) */
int tv_to_text(trender *r, tv v, tv *out);     /* str(v) as a V_STR value */
void tv_float_repr(double f, char *buf);       /* >= 32 bytes */
typedef struct tjson_opt {
	const char *indent;     /* NULL: no indentation */
	size_t indent_n;
	tstr item_sep, key_sep;
	int sort_keys, ensure_ascii;
} tjson_opt;
int tv_json(trender *r, q_buf *b, tv v, const tjson_opt *o);
int tv_from_cjson(trender *r, const cJSON *j, tv *out);
/* Iterate: materialise v into a list (str -> characters, dict -> keys,
 * undefined -> empty; a generator hands out what it has left, then is
 * exhausted).  -1 + q_error if v is not iterable. */
int tv_iter(trender *r, tv v, tlist **out);
size_t tmpl_u8len(const char *s, size_t n);    /* code points */
/* Byte offset of code point index i (clamped to n). */
size_t tmpl_u8off(const char *s, size_t n, size_t i);

/* Evaluation entry points used by the library (tmpl_eval.c). */
int tmpl_call(trender *r, tv fn, tv *args, int nargs, const tstr *kwn, tv *kwv, int nkw, tv *out);
int tmpl_getattr(trender *r, tv obj, tstr name, tv *out);
int tmpl_getitem(trender *r, tv obj, tv key, tv *out);
int tmpl_step(trender *r);  /* count one step; -1 past the limit */
int tmpl_run(trender *r);
int tmpl_binop(trender *r, int op, tv a, tv b, tv *out);  /* op: TK_ADD ... TK_POW */
int tmpl_contains(trender *r, tv item, tv seq);           /* item in seq: 1, 0, -1 */   /* render r->t; -1 + q_error("template line N: ...") */

/* ---- builtins (tmpl_lib.c) -------------------------------------------- */

/* Arguments of a builtin call. */
typedef struct targs {
	tv *pos;
	int npos;
	const tstr *kwn;
	tv *kwv;
	int nkw;
} targs;

int tmpl_filter_call(trender *r, int id, tv v, const targs *a, tv *out);
int tmpl_test_call(trender *r, int id, tv v, const targs *a, int *res);
int tmpl_func_call(trender *r, int id, const targs *a, tv *out);
int tmpl_method_call(trender *r, const tmethod *m, const targs *a, tv *out);
/* Attribute of a str / dict / list / loop that is a method or property:
 * 1 found (*out set), 0 none. */
int tmpl_builtin_attr(trender *r, tv obj, tstr name, tv *out);

/* Filter / test id by name, -1 if not supported. */
int tmpl_filter_id(const char *name, size_t n);
int tmpl_test_id(const char *name, size_t n);
/* Global function id (F_*) by name, -1 if none. */
int tmpl_func_id(const char *name, size_t n);
/* Filters jinja2 marks pass_context (map, select, ...): never folded. */
int tmpl_filter_needs_context(int id);

/* ---- Unicode tables (tmpl_ucd.c, generated) --------------------------- */

enum { UC_LOWER = 1, UC_UPPER = 2, UC_TITLE = 4, UC_CASED = 8, UC_IGNORABLE = 16 };
int tmpl_uc_flags(uint32_t cp);
/* Full case mappings: write up to 3 code points to out, return the count. */
int tmpl_uc_upper(uint32_t cp, uint32_t out[3]);
int tmpl_uc_lower(uint32_t cp, uint32_t out[3]);
int tmpl_uc_title(uint32_t cp, uint32_t out[3]);
int tmpl_uc_printable(uint32_t cp);
int tmpl_uc_space(uint32_t cp);
int tmpl_uc_alpha(uint32_t cp);
int tmpl_uc_decimal(uint32_t cp);
int tmpl_uc_digit(uint32_t cp);
int tmpl_uc_numeric(uint32_t cp);

/* Decode one code point of valid UTF-8 at s (n bytes left); returns its
 * length (1 for a stray byte, which cannot happen in a valid tstr). */
size_t tmpl_u8dec(const char *s, size_t n, uint32_t *cp);

#endif
