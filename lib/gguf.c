/*
 * gguf.c - validating reader for GGUF files, versions 2 and 3 (see gguf.h).
 *
 * Byte layout (all integers little-endian, no implicit padding anywhere
 * except item 8):
 *
 *  1. magic      4 bytes "GGUF"                               (offset 0)
 *  2. version    u32: 2 or 3 (1 used u32 counts and is rejected) (offset 4)
 *  3. n_tensors  u64                                           (offset 8)
 *  4. n_kv       u64                                           (offset 16)
 *  5. n_kv key/value pairs, each:
 *     1. key     string: u64 length + that many bytes (no NUL); non-empty,
 *                at most 65535 bytes, unique within the file
 *     2. type    u32 gguf value type (0..12, enum q_gguf_type)
 *     3. value   UINT8/INT8/BOOL 1 byte (BOOL is 0 or 1), UINT16/INT16 2,
 *                UINT32/INT32/FLOAT32 4, UINT64/INT64/FLOAT64 8,
 *                STRING as in 5.1, ARRAY as:
 *                1. elem type  u32 (0..12; ARRAY means nested arrays)
 *                2. count      u64
 *                3. count elements, each encoded as in 5.3 (without a type)
 *  6. n_tensors tensor infos, each:
 *     1. name    string as in 5.1, at most 63 bytes, unique within the file
 *     2. n_dims  u32, 1..4
 *     3. ne      n_dims x u64, elements per dimension, ne[0] fastest
 *     4. type    u32 ggml type id (table below)
 *     5. offset  u64, from the start of the data section
 *  7. the value of "general.alignment" (must be UINT32, a power of two, not
 *     0) is the alignment A; default 32
 *  8. padding up to the next multiple of A, counted from the file start
 *  9. the data section: tensor i occupies [offset, offset + nbytes), offset a
 *     multiple of A, nbytes = ne[0]*ne[1]*ne[2]*ne[3] / block * type_size,
 *     ne[0] a multiple of the type's block size
 *
 * Invariants of a q_gguf (established once by parse(), relied on by every
 * accessor): every string, array, nested array and tensor range lies inside
 * [base, base + len); array element types and nesting depth are valid, so
 * the iterator can walk the bytes without checks; kv keys and tensor names
 * are unique and indexed by open-addressing hash tables (slots hold
 * index + 1, 0 is empty, capacity a power of two >= 2 * count).  Nothing is
 * allocated from a count before that count is checked against the bytes
 * that remain, so hostile files cannot make us allocate much more than a
 * few times their own size.  Tensor data ranges may overlap or leave gaps
 * (the format does not forbid it); each lies inside the file.
 */
#include "gguf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH 8          /* levels of arrays, the outermost counted */
#define GGUF_MAX_KEY 65535
#define GGUF_MAX_NAME 63
#define GGUF_HEADER 24
#define GGUF_MIN_KV 14            /* u64 len + 1 key byte + u32 type + 1 byte */
#define GGUF_MIN_TENSOR 32        /* u64 len + u32 n_dims + 1 x u64 + u32 + u64 */

struct kv {
	q_str key;
	q_gguf_val val;
	uint64_t key_off, val_off; /* where the key and the value start */
};

struct q_gguf {
	const uint8_t *base;
	uint64_t len;
	void *map;                 /* mmap'ed region (q_gguf_open) or NULL */
	size_t map_len;
	char *name;                /* for error messages */
	uint32_t version, alignment;
	uint64_t n_kv, n_tensors;
	struct kv *kv;             /* n_kv entries, file order */
	q_gguf_tensor *t;          /* n_tensors entries, file order */
	size_t *kv_slot, kv_cap;   /* hash of keys -> index + 1 */
	size_t *t_slot, t_cap;     /* hash of tensor names -> index + 1 */
};

/* ggml types: block size (elements) and bytes per block; name NULL for ids
 * that were removed from the format (4, 5, 31-33, 36-38). */
static const struct {
	const char *name;
	uint16_t blck, size;
} ggml_types[] = {
	[0] = {"F32", 1, 4},          [1] = {"F16", 1, 2},
	[2] = {"Q4_0", 32, 18},       [3] = {"Q4_1", 32, 20},
	[6] = {"Q5_0", 32, 22},       [7] = {"Q5_1", 32, 24},
	[8] = {"Q8_0", 32, 34},       [9] = {"Q8_1", 32, 40},
	[10] = {"Q2_K", 256, 84},     [11] = {"Q3_K", 256, 110},
	[12] = {"Q4_K", 256, 144},    [13] = {"Q5_K", 256, 176},
	[14] = {"Q6_K", 256, 210},    [15] = {"Q8_K", 256, 292},
	[16] = {"IQ2_XXS", 256, 66},  [17] = {"IQ2_XS", 256, 74},
	[18] = {"IQ3_XXS", 256, 98},  [19] = {"IQ1_S", 256, 50},
	[20] = {"IQ4_NL", 32, 18},    [21] = {"IQ3_S", 256, 110},
	[22] = {"IQ2_S", 256, 82},    [23] = {"IQ4_XS", 256, 136},
	[24] = {"I8", 1, 1},          [25] = {"I16", 1, 2},
	[26] = {"I32", 1, 4},         [27] = {"I64", 1, 8},
	[28] = {"F64", 1, 8},         [29] = {"IQ1_M", 256, 56},
	[30] = {"BF16", 1, 2},
	[34] = {"TQ1_0", 256, 54},    [35] = {"TQ2_0", 256, 66},
	[39] = {"MXFP4", 32, 17},     [40] = {"NVFP4", 64, 36},
	[41] = {"Q1_0", 128, 18},     [42] = {"Q2_0", 64, 18},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

static const char *const val_type_names[] = {
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64",
};
#define N_VAL_TYPES 13

/* Encoded size of a fixed-size value type; 0 for STRING and ARRAY. */
static unsigned fixed_size(uint32_t t)
{
	static const unsigned sz[N_VAL_TYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
	return t < N_VAL_TYPES ? sz[t] : 0;
}

/* Smallest encoding of one value of type t: the bound used to check counts. */
static unsigned min_size(uint32_t t)
{
	if (t == Q_GGUF_STRING)
		return 8;
	if (t == Q_GGUF_ARRAY)
		return 12;
	return fixed_size(t);
}

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }

/*
 * Decode the value of type t whose bytes start at p into *out and return the
 * first byte after it.  The bytes must already have been validated by
 * check_val(); this never fails.
 */
static const uint8_t *decode(uint32_t t, const uint8_t *p, q_gguf_val *out)
{
	uint32_t u32;
	uint64_t u64;
	float f;
	double d;

	out->type = (enum q_gguf_type)t;
	switch (t) {
	case Q_GGUF_UINT8: case Q_GGUF_BOOL: out->u = p[0]; return p + 1;
	case Q_GGUF_INT8: out->i = (int8_t)p[0]; return p + 1;
	case Q_GGUF_UINT16: out->u = ld16(p); return p + 2;
	case Q_GGUF_INT16: out->i = (int16_t)ld16(p); return p + 2;
	case Q_GGUF_UINT32: out->u = ld32(p); return p + 4;
	case Q_GGUF_INT32: out->i = (int32_t)ld32(p); return p + 4;
	case Q_GGUF_UINT64: out->u = ld64(p); return p + 8;
	case Q_GGUF_INT64: out->i = (int64_t)ld64(p); return p + 8;
	case Q_GGUF_FLOAT32:
		u32 = ld32(p);
		memcpy(&f, &u32, sizeof f);
		out->f = f;
		return p + 4;
	case Q_GGUF_FLOAT64:
		u64 = ld64(p);
		memcpy(&d, &u64, sizeof d);
		out->f = d;
		return p + 8;
	case Q_GGUF_STRING:
		out->s.len = ld64(p);
		out->s.p = (const char *)p + 8;
		return p + 8 + out->s.len;
	default: /* Q_GGUF_ARRAY */
		out->arr.elem_type = (enum q_gguf_type)ld32(p);
		out->arr.n = ld64(p + 4);
		out->arr.data = p + 12;
		p += 12;
		if (fixed_size(out->arr.elem_type))
			return p + out->arr.n * fixed_size(out->arr.elem_type);
		for (uint64_t i = 0; i < out->arr.n; i++) {
			q_gguf_val sub;
			p = decode(out->arr.elem_type, p, &sub);
		}
		return p;
	}
}

/* ---- validation ---- */

typedef struct rd {
	const uint8_t *p;
	uint64_t len, pos;
	const char *name;
} rd;

/* Record "NAME: <what> at offset OFF"; returns -1. */
static int fail(const rd *r, uint64_t off, const char *fmt, ...) Q_PRINTF(3, 4);
static int fail(const rd *r, uint64_t off, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return q_error("%s: %s at offset %llu", r->name, what, (unsigned long long)off);
}

/* Printable form of a name from the file for error messages: at most 48
 * bytes, bytes outside printable ASCII (and quotes, backslashes) as \xHH. */
static const char *esc(char out[256], q_str s)
{
	size_t o = 0;
	for (uint64_t i = 0; i < s.len && i < 48; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
	}
	if (s.len > 48)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = '\0';
	return out;
}

static uint64_t left(const rd *r) { return r->len - r->pos; }

/* Read a u32 / u64 at the current position, or fail with "truncated WHAT". */
static int rd_u32(rd *r, const char *what, uint32_t *out)
{
	if (left(r) < 4)
		return fail(r, r->pos, "truncated %s", what);
	*out = ld32(r->p + r->pos);
	r->pos += 4;
	return 0;
}

static int rd_u64(rd *r, const char *what, uint64_t *out)
{
	if (left(r) < 8)
		return fail(r, r->pos, "truncated %s", what);
	*out = ld64(r->p + r->pos);
	r->pos += 8;
	return 0;
}

/* Read a string (u64 length + bytes): *out points into the buffer. */
static int rd_str(rd *r, const char *what, q_str *out)
{
	uint64_t at = r->pos, n = 0;
	char w[64];
	snprintf(w, sizeof w, "%s length", what);
	if (rd_u64(r, w, &n) < 0)
		return -1;
	if (n > left(r))
		return fail(r, at, "%s length %llu past end of file (%llu bytes left)", what,
			    (unsigned long long)n, (unsigned long long)left(r));
	out->p = (const char *)r->p + r->pos;
	out->len = n;
	r->pos += n;
	return 0;
}

/*
 * Check the value of type t at the current position and move past it.
 * depth is the number of arrays that enclose it.  Bounds, element types,
 * bools and the nesting depth are checked; every count is compared with the
 * bytes left before it is used.  Returns 0 or -1 + q_error.
 */
static int check_val(rd *r, uint32_t t, int depth)
{
	uint64_t at = r->pos;
	unsigned sz = fixed_size(t);

	if (sz) {
		if (left(r) < sz)
			return fail(r, at, "truncated %s value", val_type_names[t]);
		if (t == Q_GGUF_BOOL && r->p[at] > 1)
			return fail(r, at, "invalid bool value %u", r->p[at]);
		r->pos += sz;
		return 0;
	}
	if (t == Q_GGUF_STRING) {
		q_str s;
		return rd_str(r, "string", &s);
	}
	/* Q_GGUF_ARRAY */
	if (depth >= GGUF_MAX_DEPTH)
		return fail(r, at, "arrays nested more than %d deep", GGUF_MAX_DEPTH);
	uint32_t et;
	uint64_t n;
	if (rd_u32(r, "array element type", &et) < 0)
		return -1;
	if (et >= N_VAL_TYPES)
		return fail(r, at, "invalid array element type %u", et);
	uint64_t cat = r->pos;
	if (rd_u64(r, "array count", &n) < 0)
		return -1;
	if (n > left(r) / min_size(et))
		return fail(r, cat, "array count %llu past end of file (%llu bytes left)",
			    (unsigned long long)n, (unsigned long long)left(r));
	sz = fixed_size(et);
	if (sz && et != Q_GGUF_BOOL) {
		r->pos += n * sz;
		return 0;
	}
	for (uint64_t i = 0; i < n; i++)
		if (check_val(r, et, depth + 1) < 0)
			return -1;
	return 0;
}

static uint64_t hash_bytes(const char *p, uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint64_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

/* Capacity of a hash table for n entries: a power of two >= 2n, >= 8. */
static size_t table_cap(uint64_t n)
{
	size_t cap = 8;
	while (cap < 2 * n)
		cap *= 2;
	return cap;
}

/*
 * Find the slot of name in a table whose entry i is named name_of(g, i):
 * returns the slot index, which is either empty or holds the match.
 */
static size_t probe(const size_t *slot, size_t cap, const char *p, uint64_t n,
		    const q_str *(*name_of)(const q_gguf *, size_t), const q_gguf *g)
{
	size_t i = (size_t)hash_bytes(p, n) & (cap - 1);
	while (slot[i]) {
		const q_str *s = name_of(g, slot[i] - 1);
		if (s->len == n && memcmp(s->p, p, n) == 0)
			break;
		i = (i + 1) & (cap - 1);
	}
	return i;
}

static const q_str *kv_name(const q_gguf *g, size_t i) { return &g->kv[i].key; }
static const q_str *t_name(const q_gguf *g, size_t i) { return &g->t[i].name; }

/* Read the n_kv key/value pairs into g->kv and index them. */
static int parse_kv(q_gguf *g, rd *r)
{
	char e[256];
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct kv *kv = &g->kv[i];
		kv->key_off = r->pos;
		if (rd_str(r, "key", &kv->key) < 0)
			return -1;
		if (kv->key.len == 0)
			return fail(r, kv->key_off, "empty key");
		if (kv->key.len > GGUF_MAX_KEY)
			return fail(r, kv->key_off, "key too long (%llu bytes)",
				    (unsigned long long)kv->key.len);
		size_t s = probe(g->kv_slot, g->kv_cap, kv->key.p, kv->key.len, kv_name, g);
		if (g->kv_slot[s])
			return fail(r, kv->key_off, "duplicate key '%s'", esc(e, kv->key));
		g->kv_slot[s] = i + 1;

		uint64_t tat = r->pos;
		uint32_t t;
		if (rd_u32(r, "value type", &t) < 0)
			return -1;
		if (t >= N_VAL_TYPES)
			return fail(r, tat, "invalid value type %u for key '%s'", t, esc(e, kv->key));
		kv->val_off = r->pos;
		if (check_val(r, t, 0) < 0)
			return -1;
		decode(t, r->p + kv->val_off, &kv->val);
	}
	return 0;
}

/* Read the n_tensors tensor infos into g->t (data not yet placed). */
static int parse_tensors(q_gguf *g, rd *r, uint64_t *offset_at)
{
	char e[256];
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		q_gguf_tensor *t = &g->t[i];
		uint64_t at = r->pos;
		if (rd_str(r, "tensor name", &t->name) < 0)
			return -1;
		if (t->name.len > GGUF_MAX_NAME)
			return fail(r, at, "tensor name too long (%llu bytes, at most %d)",
				    (unsigned long long)t->name.len, GGUF_MAX_NAME);
		size_t s = probe(g->t_slot, g->t_cap, t->name.p, t->name.len, t_name, g);
		if (g->t_slot[s])
			return fail(r, at, "duplicate tensor name '%s'", esc(e, t->name));
		g->t_slot[s] = i + 1;
		esc(e, t->name);

		uint64_t dat = r->pos;
		if (rd_u32(r, "tensor n_dims", &t->n_dims) < 0)
			return -1;
		if (t->n_dims < 1 || t->n_dims > 4)
			return fail(r, dat, "tensor '%s': n_dims %u not in 1..4", e, t->n_dims);
		uint64_t ne_at = r->pos, nel = 1;
		int overflow = 0;
		for (uint32_t j = 0; j < 4; j++) {
			t->ne[j] = 1;
			if (j >= t->n_dims)
				continue;
			if (rd_u64(r, "tensor dimension", &t->ne[j]) < 0)
				return -1;
			if (t->ne[j] > INT64_MAX)
				return fail(r, r->pos - 8, "tensor '%s': dimension %u is %llu, too large",
					    e, j, (unsigned long long)t->ne[j]);
			overflow |= __builtin_mul_overflow(nel, t->ne[j], &nel);
		}
		if (overflow || nel > INT64_MAX)
			return fail(r, ne_at, "tensor '%s': element count overflows", e);

		uint64_t tat = r->pos;
		if (rd_u32(r, "tensor type", &t->type) < 0)
			return -1;
		if (!q_gguf_type_name(t->type))
			return fail(r, tat, "tensor '%s': unknown ggml type %u", e, t->type);
		uint64_t blck = ggml_types[t->type].blck;
		if (t->ne[0] % blck)
			return fail(r, ne_at, "tensor '%s': ne[0] = %llu is not a multiple of the %s block size %llu",
				    e, (unsigned long long)t->ne[0], ggml_types[t->type].name,
				    (unsigned long long)blck);
		if (__builtin_mul_overflow(nel / blck, (uint64_t)ggml_types[t->type].size, &t->nbytes))
			return fail(r, ne_at, "tensor '%s': size in bytes overflows", e);

		offset_at[i] = r->pos;
		if (rd_u64(r, "tensor data offset", &t->offset) < 0)
			return -1;
		if (t->offset % g->alignment)
			return fail(r, offset_at[i], "tensor '%s': data offset %llu is not a multiple of the alignment %u",
				    e, (unsigned long long)t->offset, g->alignment);
	}
	return 0;
}

/* Find general.alignment (if any) and check it; sets g->alignment. */
static int parse_alignment(q_gguf *g, rd *r)
{
	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	const q_gguf_val *v = q_gguf_get(g, "general.alignment");
	if (!v)
		return 0;
	const struct kv *kv = (const struct kv *)((const char *)v - offsetof(struct kv, val));
	if (v->type != Q_GGUF_UINT32)
		return fail(r, kv->val_off - 4, "general.alignment has type %s, not uint32",
			    val_type_names[v->type]);
	if (v->u == 0 || (v->u & (v->u - 1)))
		return fail(r, kv->val_off, "general.alignment %llu is not a power of two",
			    (unsigned long long)v->u);
	g->alignment = (uint32_t)v->u;
	return 0;
}

/*
 * Validate the whole buffer and fill g (whose base, len and name are set).
 * Returns 0 or -1 + q_error; on failure g holds whatever was allocated so
 * far, for q_gguf_free().
 */
static int parse(q_gguf *g)
{
	rd r = {g->base, g->len, 0, g->name};

	if (g->len == 0)
		return fail(&r, 0, "empty file (not a GGUF file)");
	if (g->len < 4 || memcmp(g->base, "GGUF", 4) != 0)
		return fail(&r, 0, "not a GGUF file (bad magic)");
	r.pos = 4;
	if (rd_u32(&r, "version", &g->version) < 0)
		return -1;
	if (g->version != 2 && g->version != 3) {
		uint32_t v = g->version;
		uint32_t swapped = v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
		return fail(&r, 4, "unsupported GGUF version %u%s", v,
			    swapped == 2 || swapped == 3 ? " (a big-endian file?)" : "");
	}
	if (rd_u64(&r, "tensor count", &g->n_tensors) < 0 || rd_u64(&r, "key/value count", &g->n_kv) < 0)
		return -1;
	if (g->n_tensors > (g->len - GGUF_HEADER) / GGUF_MIN_TENSOR)
		return fail(&r, 8, "tensor count %llu too large for a file of %llu bytes",
			    (unsigned long long)g->n_tensors, (unsigned long long)g->len);
	if (g->n_kv > (g->len - GGUF_HEADER) / GGUF_MIN_KV)
		return fail(&r, 16, "key/value count %llu too large for a file of %llu bytes",
			    (unsigned long long)g->n_kv, (unsigned long long)g->len);

	g->kv_cap = table_cap(g->n_kv);
	g->t_cap = table_cap(g->n_tensors);
	g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
	g->t = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->t);
	g->kv_slot = calloc(g->kv_cap, sizeof *g->kv_slot);
	g->t_slot = calloc(g->t_cap, sizeof *g->t_slot);
	uint64_t *offset_at = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *offset_at);
	if (!g->kv || !g->t || !g->kv_slot || !g->t_slot || !offset_at) {
		free(offset_at);
		return q_error("%s: out of memory", g->name);
	}

	int rc = -1;
	if (parse_kv(g, &r) < 0 || parse_alignment(g, &r) < 0 || parse_tensors(g, &r, offset_at) < 0)
		goto out;

	/* 8, 9: padding, then the tensor data, all inside the file. */
	uint64_t data_off = (r.pos + g->alignment - 1) / g->alignment * g->alignment;
	if (g->n_tensors > 0 && data_off > g->len) {
		fail(&r, r.pos, "truncated padding before the tensor data (%llu bytes left, need %llu)",
		     (unsigned long long)left(&r), (unsigned long long)(data_off - r.pos));
		goto out;
	}
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		q_gguf_tensor *t = &g->t[i];
		uint64_t room = g->len - data_off;
		if (t->offset > room || t->nbytes > room - t->offset) {
			char e[256];
			fail(&r, offset_at[i], "tensor '%s': data [%llu, +%llu) past end of file (data section is %llu bytes)",
			     esc(e, t->name), (unsigned long long)t->offset, (unsigned long long)t->nbytes,
			     (unsigned long long)room);
			goto out;
		}
		t->data = g->base + data_off + t->offset;
	}
	rc = 0;
out:
	free(offset_at);
	return rc;
}

/* ---- public API ---- */

/*
 * Validate buf[0..len) into a new q_gguf that borrows buf (and owns a copy
 * of name).  NULL + q_error on failure.  Tensor data is aligned relative to
 * buf, so it is aligned in memory only when buf is (q_gguf_open's mapping
 * is page-aligned).
 */
q_gguf *q_gguf_open_mem(const void *buf, size_t len, const char *name)
{
	q_gguf *g = calloc(1, sizeof *g);
	if (!g || !(g->name = strdup(name ? name : "(memory)"))) {
		free(g);
		q_error("%s: out of memory", name ? name : "(memory)");
		return NULL;
	}
	g->base = buf;
	g->len = len;
	if (parse(g) < 0) {
		q_gguf_free(g);
		return NULL;
	}
	return g;
}

/*
 * Map path read-only and validate it.  The mapping is owned by the returned
 * q_gguf and released by q_gguf_free().  NULL + q_error on failure (missing
 * file, directory, empty file, bad contents).
 */
q_gguf *q_gguf_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		q_error("%s: cannot open:", path);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		q_error("%s: cannot stat:", path);
		close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		q_error("%s: is a directory, not a GGUF file", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		q_error("%s: not a regular file", path);
		return NULL;
	}
	if (st.st_size == 0) {
		close(fd);
		return q_gguf_open_mem("", 0, path);
	}
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		q_error("%s: cannot mmap:", path);
		return NULL;
	}
	q_gguf *g = q_gguf_open_mem(map, len, path);
	if (!g) {
		munmap(map, len);
		return NULL;
	}
	g->map = map;
	g->map_len = len;
	return g;
}

/* Free g and unmap its file; every pointer obtained from g becomes invalid. */
void q_gguf_free(q_gguf *g)
{
	if (!g)
		return;
	if (g->map)
		munmap(g->map, g->map_len);
	free(g->kv);
	free(g->t);
	free(g->kv_slot);
	free(g->t_slot);
	free(g->name);
	free(g);
}

uint32_t q_gguf_version(const q_gguf *g) { return g->version; }
uint32_t q_gguf_alignment(const q_gguf *g) { return g->alignment; }
uint64_t q_gguf_n_kv(const q_gguf *g) { return g->n_kv; }
uint64_t q_gguf_n_tensors(const q_gguf *g) { return g->n_tensors; }

/* Key i (empty q_str when i is out of range). */
q_str q_gguf_kv_key(const q_gguf *g, uint64_t i)
{
	q_str none = {NULL, 0};
	return i < g->n_kv ? g->kv[i].key : none;
}

const q_gguf_val *q_gguf_kv_val(const q_gguf *g, uint64_t i)
{
	return i < g->n_kv ? &g->kv[i].val : NULL;
}

/* Hashed lookup; NULL when absent (no q_error). */
const q_gguf_val *q_gguf_get(const q_gguf *g, const char *key)
{
	size_t s = probe(g->kv_slot, g->kv_cap, key, strlen(key), kv_name, g);
	return g->kv_slot[s] ? &g->kv[g->kv_slot[s] - 1].val : NULL;
}

/* Shared by the typed getters: the value, or NULL when absent. */
static const struct kv *get_kv(const q_gguf *g, const char *key)
{
	const q_gguf_val *v = q_gguf_get(g, key);
	return v ? (const struct kv *)((const char *)v - offsetof(struct kv, val)) : NULL;
}

static int wrong_type(const q_gguf *g, const struct kv *kv, const char *want)
{
	char e[256];
	return q_error("%s: key '%s' has type %s, not %s at offset %llu", g->name, esc(e, kv->key),
		       val_type_names[kv->val.type], want, (unsigned long long)kv->val_off);
}

static int is_uint(enum q_gguf_type t)
{
	return t == Q_GGUF_UINT8 || t == Q_GGUF_UINT16 || t == Q_GGUF_UINT32 || t == Q_GGUF_UINT64;
}

static int is_int(enum q_gguf_type t)
{
	return t == Q_GGUF_INT8 || t == Q_GGUF_INT16 || t == Q_GGUF_INT32 || t == Q_GGUF_INT64;
}

int q_gguf_get_u64(const q_gguf *g, const char *key, uint64_t *out)
{
	const struct kv *kv = get_kv(g, key);
	if (!kv)
		return -1;
	if (is_uint(kv->val.type)) {
		*out = kv->val.u;
		return 0;
	}
	if (!is_int(kv->val.type))
		return wrong_type(g, kv, "an integer");
	if (kv->val.i < 0)
		return wrong_type(g, kv, "a non-negative integer");
	*out = (uint64_t)kv->val.i;
	return 0;
}

int q_gguf_get_i64(const q_gguf *g, const char *key, int64_t *out)
{
	const struct kv *kv = get_kv(g, key);
	if (!kv)
		return -1;
	if (is_int(kv->val.type)) {
		*out = kv->val.i;
		return 0;
	}
	if (!is_uint(kv->val.type))
		return wrong_type(g, kv, "an integer");
	if (kv->val.u > INT64_MAX)
		return wrong_type(g, kv, "an integer that fits int64");
	*out = (int64_t)kv->val.u;
	return 0;
}

int q_gguf_get_f64(const q_gguf *g, const char *key, double *out)
{
	const struct kv *kv = get_kv(g, key);
	if (!kv)
		return -1;
	if (kv->val.type != Q_GGUF_FLOAT32 && kv->val.type != Q_GGUF_FLOAT64)
		return wrong_type(g, kv, "a float");
	*out = kv->val.f;
	return 0;
}

int q_gguf_get_bool(const q_gguf *g, const char *key, int *out)
{
	const struct kv *kv = get_kv(g, key);
	if (!kv)
		return -1;
	if (kv->val.type != Q_GGUF_BOOL)
		return wrong_type(g, kv, "bool");
	*out = kv->val.u != 0;
	return 0;
}

int q_gguf_get_str(const q_gguf *g, const char *key, q_str *out)
{
	const struct kv *kv = get_kv(g, key);
	if (!kv)
		return -1;
	if (kv->val.type != Q_GGUF_STRING)
		return wrong_type(g, kv, "string");
	*out = kv->val.s;
	return 0;
}

/* Start iterating over arr (an ARRAY value from this API); a non-array
 * value iterates over nothing. */
void q_gguf_iter_init(q_gguf_iter *it, const q_gguf_val *arr)
{
	it->arr = arr;
	it->i = 0;
	it->pos = arr->type == Q_GGUF_ARRAY ? arr->arr.data : NULL;
}

/* Decode the next element into *out (which may itself be an array, valid
 * as long as the q_gguf); 0 when there are no more. */
int q_gguf_iter_next(q_gguf_iter *it, q_gguf_val *out)
{
	if (!it->pos || it->i >= it->arr->arr.n)
		return 0;
	it->pos = decode(it->arr->arr.elem_type, it->pos, out);
	it->i++;
	return 1;
}

const q_gguf_tensor *q_gguf_tensor_at(const q_gguf *g, uint64_t i)
{
	return i < g->n_tensors ? &g->t[i] : NULL;
}

/* Hashed lookup by NUL-terminated name; NULL when absent. */
const q_gguf_tensor *q_gguf_find_tensor(const q_gguf *g, const char *name)
{
	size_t s = probe(g->t_slot, g->t_cap, name, strlen(name), t_name, g);
	return g->t_slot[s] ? &g->t[g->t_slot[s] - 1] : NULL;
}

const char *q_gguf_type_name(uint32_t type)
{
	return type < N_GGML_TYPES ? ggml_types[type].name : NULL;
}
