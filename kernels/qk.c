/*
 * qk.c - backend-independent half of libqk: the type table, the error
 * message, tensor views, and the public op wrappers that validate shapes and
 * types once for every backend before calling its table (see qk.h).
 *
 * Invariant: a backend function is only ever called with tensors whose type,
 * shape and stride passed the checks here (t_ok), so backends do not repeat
 * them.  Nothing here touches tensor data.
 */
#include "qk.h"
#include "cpu/cpu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static _Thread_local char errmsg[512];

int qk_seterr(const char *fmt, ...)
{
	char tmp[sizeof errmsg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	memcpy(errmsg, tmp, sizeof errmsg);
	return -1;
}

const char *qk_errmsg(void)
{
	return errmsg;
}

static const struct {
	const char *name;
	int64_t block;
	size_t bytes;
	int weight;
} types[QK_TYPE_MAX] = {
	[QK_F32] = {"f32", 1, 4, 1},
	[QK_F16] = {"f16", 1, 2, 1},
	[QK_BF16] = {"bf16", 1, 2, 1},
	[QK_Q4_0] = {"q4_0", QK_32, sizeof(qk_block_q4_0), 1},
	[QK_Q4_1] = {"q4_1", QK_32, sizeof(qk_block_q4_1), 1},
	[QK_Q8_0] = {"q8_0", QK_32, sizeof(qk_block_q8_0), 1},
	[QK_Q8_1] = {"q8_1", QK_32, sizeof(qk_block_q8_1), 0},
	[QK_Q4_K] = {"q4_K", QK_K, sizeof(qk_block_q4_k), 1},
	[QK_Q5_K] = {"q5_K", QK_K, sizeof(qk_block_q5_k), 1},
	[QK_Q6_K] = {"q6_K", QK_K, sizeof(qk_block_q6_k), 1},
	[QK_Q8_K] = {"q8_K", QK_K, sizeof(qk_block_q8_k), 0},
	[QK_I32] = {"i32", 1, 4, 0},
};

int qk_type_valid(int t)
{
	return t >= 0 && t < QK_TYPE_MAX && types[t].name != NULL;
}

const char *qk_type_name(qk_type t)
{
	return qk_type_valid(t) ? types[t].name : "?";
}

int qk_type_parse(const char *name)
{
	for (int t = 0; t < QK_TYPE_MAX; t++)
		if (types[t].name && strcasecmp(types[t].name, name) == 0)
			return t;
	return -1;
}

int64_t qk_type_block(qk_type t)
{
	return qk_type_valid(t) ? types[t].block : 0;
}

size_t qk_type_block_bytes(qk_type t)
{
	return qk_type_valid(t) ? types[t].bytes : 0;
}

int qk_type_is_weight(qk_type t)
{
	return qk_type_valid(t) && types[t].weight;
}

size_t qk_row_bytes(qk_type t, int64_t cols)
{
	if (!qk_type_valid(t))
		return qk_seterr("invalid tensor type %d", (int)t), 0;
	if (cols <= 0 || cols % types[t].block != 0)
		return qk_seterr("%s: %lld columns is not a positive multiple of %lld",
				 types[t].name, (long long)cols, (long long)types[t].block), 0;
	uint64_t nb = (uint64_t)(cols / types[t].block);
	if (nb > (uint64_t)1 << 40)
		return qk_seterr("%s: %lld columns is too many", types[t].name, (long long)cols), 0;
	return (size_t)(nb * types[t].bytes);
}

/* --------------------------------------------------------------- backend */

struct qk_backend {
	const qk_backend_ops *ops;
	void *ctx;
};

qk_backend *qk_backend_new(const qk_backend_ops *ops, void *ctx)
{
	qk_backend *be = calloc(1, sizeof *be);
	if (!be) {
		ops->free(ctx);
		return qk_seterr("out of memory"), NULL;
	}
	be->ops = ops;
	be->ctx = ctx;
	return be;
}

void qk_backend_free(qk_backend *be)
{
	if (!be)
		return;
	be->ops->free(be->ctx);
	free(be);
}

const char *qk_backend_name(const qk_backend *be)
{
	return be->ops->name;
}

void *qk_backend_ctx(const qk_backend *be, const qk_backend_ops *ops)
{
	return be && be->ops == ops ? be->ctx : NULL;
}

/* ---------------------------------------------------------------- tensors */

/* Check a tensor descriptor: known type, positive shape, block-aligned
 * columns, stride holding a row, data present.  what names it in errors. */
static int t_ok(const qk_tensor *t, const char *what)
{
	if (!t || !t->data)
		return qk_seterr("%s: no tensor", what);
	if (!qk_type_valid(t->type))
		return qk_seterr("%s: invalid type %d", what, (int)t->type);
	if (t->rows <= 0)
		return qk_seterr("%s: %lld rows", what, (long long)t->rows);
	size_t rb = qk_row_bytes(t->type, t->cols);
	if (rb == 0)
		return qk_seterr("%s: %s", what, qk_errmsg());
	if (t->stride < rb)
		return qk_seterr("%s: stride %zu below the row size %zu", what, t->stride, rb);
	if (qk_type_block(t->type) == 1 && t->stride % qk_type_block_bytes(t->type))
		return qk_seterr("%s: stride %zu not a multiple of the element size", what, t->stride);
	return 0;
}

/* t is F32 (or type) with the given shape; rows/cols < 0 mean "any". */
static int t_is(const qk_tensor *t, const char *what, qk_type type, int64_t rows, int64_t cols)
{
	if (t_ok(t, what) < 0)
		return -1;
	if (t->type != type)
		return qk_seterr("%s: type %s, want %s", what, qk_type_name(t->type), qk_type_name(type));
	if ((rows >= 0 && t->rows != rows) || (cols >= 0 && t->cols != cols))
		return qk_seterr("%s: shape [%lld][%lld], want [%lld][%lld]", what,
				 (long long)t->rows, (long long)t->cols, (long long)rows, (long long)cols);
	return 0;
}

/* The bytes a tensor spans, [*lo, *hi). */
static void t_span(const qk_tensor *t, const char **lo, const char **hi)
{
	*lo = t->data;
	*hi = *lo + (size_t)(t->rows - 1) * t->stride + qk_row_bytes(t->type, t->cols);
}

/* Whether a and b share any byte. */
static int t_overlap(const qk_tensor *a, const qk_tensor *b)
{
	const char *a0, *a1, *b0, *b1;
	t_span(a, &a0, &a1);
	t_span(b, &b0, &b1);
	return a0 < b1 && b0 < a1;
}

/* y and x do not share any byte. */
static int t_disjoint(const qk_tensor *y, const qk_tensor *x, const char *what)
{
	return t_overlap(y, x) ? qk_seterr("%s: output overlaps an input", what) : 0;
}

/* y is x (same memory and stride: in place) or does not overlap it. */
static int t_alias_ok(const qk_tensor *y, const qk_tensor *x, const char *what)
{
	if (y->data == x->data && y->stride == x->stride)
		return 0;
	return t_disjoint(y, x, what);
}

/* Fill in the descriptor for a dense rows x cols tensor. */
static int t_shape(qk_tensor *t, qk_type type, int64_t rows, int64_t cols)
{
	memset(t, 0, sizeof *t);
	if (!qk_type_valid(type))
		return qk_seterr("invalid tensor type %d", (int)type);
	size_t rb = qk_row_bytes(type, cols);
	if (rb == 0)
		return -1;
	if (rows <= 0 || (uint64_t)rows > SIZE_MAX / 2 / rb)
		return qk_seterr("tensor of %lld rows of %zu bytes is too large", (long long)rows, rb);
	t->type = type;
	t->rows = rows;
	t->cols = cols;
	t->stride = rb;
	return 0;
}

int qk_tensor_alloc(qk_backend *be, qk_tensor *t, qk_type type, int64_t rows, int64_t cols)
{
	if (t_shape(t, type, rows, cols) < 0)
		return -1;
	return be->ops->tensor_alloc(be->ctx, t);
}

int qk_tensor_load(qk_backend *be, qk_tensor *t, qk_type type, int64_t rows, int64_t cols,
		   const void *host)
{
	if (t_shape(t, type, rows, cols) < 0)
		return -1;
	if (!host)
		return qk_seterr("tensor load: no data");
	return be->ops->tensor_load(be->ctx, t, host);
}

void qk_tensor_free(qk_backend *be, qk_tensor *t)
{
	if (t && t->data)
		be->ops->tensor_free(be->ctx, t);
	if (t)
		memset(t, 0, sizeof *t);
}

int qk_tensor_set(qk_backend *be, qk_tensor *t, const void *host, size_t nbytes)
{
	if (t_ok(t, "tensor set") < 0)
		return -1;
	if (t->flags & QK_BORROWED)
		return qk_seterr("tensor set: tensor is read-only");
	if (nbytes != (size_t)t->rows * qk_row_bytes(t->type, t->cols))
		return qk_seterr("tensor set: %zu bytes for a tensor of %zu", nbytes,
				 (size_t)t->rows * qk_row_bytes(t->type, t->cols));
	return be->ops->tensor_set(be->ctx, t, host);
}

int qk_tensor_get(qk_backend *be, const qk_tensor *t, void *host, size_t nbytes)
{
	if (t_ok(t, "tensor get") < 0)
		return -1;
	if (nbytes != (size_t)t->rows * qk_row_bytes(t->type, t->cols))
		return qk_seterr("tensor get: %zu bytes for a tensor of %zu", nbytes,
				 (size_t)t->rows * qk_row_bytes(t->type, t->cols));
	return be->ops->tensor_get(be->ctx, t, host);
}

qk_tensor qk_tensor_rows(const qk_tensor *t, int64_t r0, int64_t n)
{
	qk_tensor v = *t;
	v.flags |= QK_BORROWED;
	if (r0 < 0 || n <= 0 || r0 > t->rows - n) {
		qk_seterr("row view [%lld, +%lld) outside %lld rows", (long long)r0, (long long)n,
			  (long long)t->rows);
		v.data = NULL;
		return v;
	}
	v.data = (char *)t->data + (size_t)r0 * t->stride;
	v.rows = n;
	return v;
}

qk_tensor qk_tensor_cols(const qk_tensor *t, int64_t c0, int64_t n)
{
	qk_tensor v = *t;
	v.flags |= QK_BORROWED;
	int64_t bs = qk_type_block(t->type);
	if (t->flags & QK_PACKED) {
		qk_seterr("column view of a packed tensor");
		v.data = NULL;
		return v;
	}
	if (c0 < 0 || n <= 0 || c0 > t->cols - n || bs == 0 || c0 % bs || n % bs) {
		qk_seterr("column view [%lld, +%lld) outside %lld columns or not block-aligned",
			  (long long)c0, (long long)n, (long long)t->cols);
		v.data = NULL;
		return v;
	}
	v.data = (char *)t->data + (size_t)(c0 / bs) * qk_type_block_bytes(t->type);
	v.cols = n;
	return v;
}

/* -------------------------------------------------------------------- ops */

int qk_matmul_n(qk_backend *be, int n, qk_tensor *const *y, const qk_tensor *x, const qk_tensor *const *w,
		const qk_tensor *nb)
{
	if (n < 1 || n > QK_MATMUL_MAX)
		return qk_seterr("matmul: %d weights (1 to %d)", n, QK_MATMUL_MAX);
	for (int i = 0; i < n; i++) {
		if (t_ok(w[i], "matmul: weight") < 0 || t_is(x, "matmul: input", QK_F32, -1, w[i]->cols) < 0 ||
		    t_is(y[i], "matmul: output", QK_F32, x->rows, w[i]->rows) < 0)
			return -1;
		if (!qk_type_is_weight(w[i]->type))
			return qk_seterr("matmul: %s is not a weight type", qk_type_name(w[i]->type));
		if (t_disjoint(y[i], x, "matmul") < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (t_overlap(y[i], y[j]))
				return qk_seterr("matmul: outputs %d and %d overlap", j, i);
	}
	if (nb && t_is(nb, "matmul: batch sizes", QK_I32, 2, x->rows) < 0)
		return -1;
	return be->ops->matmul(be->ctx, n, y, x, w, nb);
}

int qk_matmul(qk_backend *be, qk_tensor *y, const qk_tensor *x, const qk_tensor *w, const qk_tensor *nb)
{
	return qk_matmul_n(be, 1, &y, x, &w, nb);
}

int qk_rmsnorm(qk_backend *be, qk_tensor *y, const qk_tensor *x, const qk_tensor *g, float eps)
{
	if (t_is(x, "rmsnorm: input", QK_F32, -1, -1) < 0 ||
	    t_is(y, "rmsnorm: output", QK_F32, x->rows, x->cols) < 0 ||
	    t_is(g, "rmsnorm: weight", QK_F32, 1, x->cols) < 0 || t_alias_ok(y, x, "rmsnorm") < 0)
		return -1;
	if (!(eps >= 0))
		return qk_seterr("rmsnorm: eps %g", (double)eps);
	return be->ops->rmsnorm(be->ctx, y, x, g, eps);
}

int qk_rope_apply(qk_backend *be, qk_tensor *x, const qk_tensor *pos, const qk_rope *p)
{
	if (t_is(x, "rope: input", QK_F32, -1, -1) < 0 || t_is(pos, "rope: positions", QK_I32, 1, x->rows) < 0)
		return -1;
	if (p->n_head <= 0 || p->head_dim <= 0 || (int64_t)p->n_head * p->head_dim != x->cols)
		return qk_seterr("rope: %d heads of %d do not make %lld columns", p->n_head, p->head_dim,
				 (long long)x->cols);
	if (p->n_rot <= 0 || p->n_rot > p->head_dim || p->n_rot % 2)
		return qk_seterr("rope: %d rotated dims of a head of %d", p->n_rot, p->head_dim);
	if (!(p->freq_base > 0) || !(p->freq_scale > 0))
		return qk_seterr("rope: freq base %g scale %g", (double)p->freq_base, (double)p->freq_scale);
	if (p->llama3 && (!(p->l3_factor > 0) || !(p->l3_low_freq_factor > 0) ||
			  !(p->l3_high_freq_factor > p->l3_low_freq_factor) || p->l3_orig_ctx <= 0))
		return qk_seterr("rope: invalid Llama 3 scaling parameters");
	return be->ops->rope(be->ctx, x, pos, p);
}

int qk_silu_mul(qk_backend *be, qk_tensor *y, const qk_tensor *g, const qk_tensor *u)
{
	if (t_is(g, "silu_mul: gate", QK_F32, -1, -1) < 0 ||
	    t_is(u, "silu_mul: up", QK_F32, g->rows, g->cols) < 0 ||
	    t_is(y, "silu_mul: output", QK_F32, g->rows, g->cols) < 0 ||
	    t_alias_ok(y, g, "silu_mul") < 0 || t_alias_ok(y, u, "silu_mul") < 0)
		return -1;
	return be->ops->silu_mul(be->ctx, y, g, u);
}

int qk_softmax(qk_backend *be, qk_tensor *y, const qk_tensor *x, float scale)
{
	if (t_is(x, "softmax: input", QK_F32, -1, -1) < 0 ||
	    t_is(y, "softmax: output", QK_F32, x->rows, x->cols) < 0 || t_alias_ok(y, x, "softmax") < 0)
		return -1;
	return be->ops->softmax(be->ctx, y, x, scale);
}

int qk_add(qk_backend *be, qk_tensor *y, const qk_tensor *a, const qk_tensor *b)
{
	if (t_is(a, "add: a", QK_F32, -1, -1) < 0 || t_is(b, "add: b", QK_F32, a->rows, a->cols) < 0 ||
	    t_is(y, "add: output", QK_F32, a->rows, a->cols) < 0 ||
	    t_alias_ok(y, a, "add") < 0 || t_alias_ok(y, b, "add") < 0)
		return -1;
	return be->ops->add(be->ctx, y, a, b);
}

int qk_embed(qk_backend *be, qk_tensor *y, const qk_tensor *table, const qk_tensor *ids)
{
	if (t_ok(table, "embed: table") < 0 || t_is(ids, "embed: ids", QK_I32, 1, -1) < 0 ||
	    t_is(y, "embed: output", QK_F32, ids->cols, table->cols) < 0)
		return -1;
	if (!qk_type_is_weight(table->type))
		return qk_seterr("embed: %s is not a weight type", qk_type_name(table->type));
	return be->ops->embed(be->ctx, y, table, ids);
}

int qk_argmax(qk_backend *be, const qk_tensor *x, int32_t *out)
{
	if (t_is(x, "argmax: input", QK_F32, -1, -1) < 0)
		return -1;
	if (x->cols > INT32_MAX)
		return qk_seterr("argmax: %lld columns", (long long)x->cols);
	return be->ops->argmax(be->ctx, x, out);
}

/* A KV cache tensor: F32 or F16, width n_kv_head * head_dim. */
static int kv_ok(const qk_tensor *c, const char *what, int64_t width)
{
	if (t_ok(c, what) < 0)
		return -1;
	if (c->type != QK_F32 && c->type != QK_F16)
		return qk_seterr("%s: type %s, want f32 or f16", what, qk_type_name(c->type));
	if (c->cols != width)
		return qk_seterr("%s: %lld columns, want %lld", what, (long long)c->cols, (long long)width);
	return 0;
}

int qk_kv_store(qk_backend *be, qk_tensor *kc, qk_tensor *vc, const qk_tensor *k, const qk_tensor *v,
		const qk_tensor *slots)
{
	if (t_is(k, "kv store: k", QK_F32, -1, -1) < 0 || t_is(v, "kv store: v", QK_F32, k->rows, k->cols) < 0 ||
	    kv_ok(kc, "kv store: k cache", k->cols) < 0 || kv_ok(vc, "kv store: v cache", k->cols) < 0 ||
	    t_is(slots, "kv store: slots", QK_I32, 1, k->rows) < 0)
		return -1;
	if (kc->rows != vc->rows || kc->type != vc->type)
		return qk_seterr("kv store: k and v caches differ in rows or type");
	if (t_disjoint(kc, vc, "kv store") < 0)
		return -1;
	return be->ops->kv_store(be->ctx, kc, vc, k, v, slots);
}

int qk_attention(qk_backend *be, qk_tensor *out, const qk_tensor *q, const qk_tensor *kc,
		 const qk_tensor *vc, const qk_tensor *pos, const qk_tensor *seq,
		 const qk_tensor *block_table, const qk_tensor *nb, const qk_attn *p)
{
	if (p->n_head <= 0 || p->n_kv_head <= 0 || p->n_head % p->n_kv_head || p->head_dim <= 0 ||
	    p->head_dim > 1024 || p->block_size <= 0 || !(p->scale == p->scale))
		return qk_seterr("attention: %d heads, %d kv heads, head dim %d, block size %d", p->n_head,
				 p->n_kv_head, p->head_dim, p->block_size);
	int64_t w = (int64_t)p->n_head * p->head_dim, wkv = (int64_t)p->n_kv_head * p->head_dim;
	if (t_is(q, "attention: q", QK_F32, -1, w) < 0 || t_is(out, "attention: output", QK_F32, q->rows, w) < 0 ||
	    t_alias_ok(out, q, "attention") < 0 || kv_ok(kc, "attention: k cache", wkv) < 0 ||
	    kv_ok(vc, "attention: v cache", wkv) < 0 || t_is(pos, "attention: positions", QK_I32, 1, q->rows) < 0 ||
	    t_is(seq, "attention: sequences", QK_I32, 1, q->rows) < 0 ||
	    t_is(block_table, "attention: block table", QK_I32, -1, -1) < 0 ||
	    (nb && t_is(nb, "attention: batch sizes", QK_I32, 2, q->rows) < 0))
		return -1;
	if (kc->rows != vc->rows || kc->type != vc->type || kc->rows % p->block_size)
		return qk_seterr("attention: caches of %lld and %lld rows (%s, %s), block size %d",
				 (long long)kc->rows, (long long)vc->rows, qk_type_name(kc->type),
				 qk_type_name(vc->type), p->block_size);
	if (t_disjoint(out, kc, "attention") < 0 || t_disjoint(out, vc, "attention") < 0)
		return -1;
	return be->ops->attention(be->ctx, out, q, kc, vc, pos, seq, block_table, nb, p);
}
