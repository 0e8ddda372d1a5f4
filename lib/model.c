/*
 * model.c - llama / qwen2 / qwen3 bound from GGUF, and the batched forward
 * pass (see model.h).
 *
 * Invariants:
 * - After q_model_new every tensor has been checked against the
 *   hyper-parameters: type supported by the kernels, shape exactly as
 *   written in the comments of struct layer, data inside the mapping.
 *   Weights are borrowed from the mapping, never copied.
 * - A q_fwd's scratch tensors hold max_tok rows (max_out for the output
 *   side); q_fwd_run uses the first n rows of each and allocates nothing.
 * - The op order mirrors llama.cpp's graphs (llm_build_llama / qwen2 /
 *   qwen3): pre-norm, Q/K/V projections (+ bias for qwen2, + per-head
 *   RMSNorm before rope for qwen3), rope, attention over the paged cache,
 *   output projection, residual add, pre-norm SwiGLU FFN, residual add;
 *   at the last layer only the rows that want logits go through the FFN.
 */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"

/* Shapes are [rows][cols] (GGUF ne[1], ne[0]); d = n_embd, hd = head_dim,
 * nh = n_head, nkv = n_kv_head, ff = n_ff. */
typedef struct layer {
	qk_tensor attn_norm;   /* [1][d] F32 */
	qk_tensor wq;          /* [nh * hd][d] */
	qk_tensor wk;          /* [nkv * hd][d] */
	qk_tensor wv;          /* [nkv * hd][d] */
	const float *bq;       /* qwen2: [nh * hd] F32, host (in the mapping) */
	const float *bk;       /* qwen2: [nkv * hd] */
	const float *bv;       /* qwen2: [nkv * hd] */
	qk_tensor q_norm;      /* qwen3: [1][hd] F32, applied to every head */
	qk_tensor k_norm;      /* qwen3: [1][hd] F32 */
	qk_tensor wo;          /* [d][nh * hd] */
	qk_tensor ffn_norm;    /* [1][d] F32 */
	qk_tensor w_gate;      /* [ff][d] */
	qk_tensor w_up;        /* [ff][d] */
	qk_tensor w_down;      /* [d][ff] */
} layer;

struct q_model {
	q_hparams hp;
	qk_backend *be;
	const q_gguf *g;
	qk_tensor tok_embd;    /* [n_vocab][d] */
	qk_tensor out_norm;    /* [1][d] F32 */
	qk_tensor output;      /* [n_vocab][d]; token_embd's bytes when tied */
	layer *layers;         /* [n_layer] */
	int drop_copied;       /* weights live in a file mapping: drop what the backend copies */
};

static const char *const arch_names[] = {
	[Q_ARCH_LLAMA] = "llama", [Q_ARCH_QWEN2] = "qwen2", [Q_ARCH_QWEN3] = "qwen3",
};

/* ------------------------------------------------------------ binding */

/* Read "<arch>.<key>" as an integer in [lo, hi]; def when absent (def < 0:
 * required).  -1 + q_error. */
static int hp_int(const q_gguf *g, const char *arch, const char *key, int64_t def, int64_t lo,
		  int64_t hi, int *out)
{
	char name[128];
	snprintf(name, sizeof name, "%s.%s", arch, key);
	uint64_t v;
	if (!q_gguf_get(g, name)) {
		if (def < 0)
			return q_error("missing hyper-parameter %s", name);
		*out = (int)def;
		return 0;
	}
	if (q_gguf_get_u64(g, name, &v) < 0)
		return -1;
	if (v < (uint64_t)lo || v > (uint64_t)hi)
		return q_error("hyper-parameter %s = %llu is outside [%lld, %lld]", name, (unsigned long long)v,
			       (long long)lo, (long long)hi);
	*out = (int)v;
	return 0;
}

/* Read "<arch>.<key>" as a float; def when absent (NAN: required). */
static int hp_float(const q_gguf *g, const char *arch, const char *key, double def, double *out)
{
	char name[128];
	snprintf(name, sizeof name, "%s.%s", arch, key);
	if (!q_gguf_get(g, name)) {
		if (isnan(def))
			return q_error("missing hyper-parameter %s", name);
		*out = def;
		return 0;
	}
	if (q_gguf_get_f64(g, name, out) < 0)
		return -1;
	if (!isfinite(*out))
		return q_error("hyper-parameter %s is not finite", name);
	return 0;
}

/* Find tensor `name` and check it is [rows][cols]: 1-d when rows is 0,
 * 2-d otherwise.  f32_only: norms and biases, which the kernels take as
 * F32.  why explains the expected shape in the error.  NULL + q_error, or
 * NULL without one when the tensor is absent and optional. */
static const q_gguf_tensor *find(const q_model *m, const char *name, int64_t rows, int64_t cols,
				 int f32_only, int optional, const char *why)
{
	const q_gguf_tensor *gt = q_gguf_find_tensor(m->g, name);
	if (!gt) {
		if (!optional)
			q_error("tensor %s is missing", name);
		return NULL;
	}
	uint32_t want_dims = rows ? 2 : 1;
	int shape_ok = gt->n_dims <= want_dims && gt->ne[0] == (uint64_t)cols &&
		       (rows == 0 || gt->ne[1] == (uint64_t)rows);
	for (uint32_t i = want_dims; i < 4; i++)
		shape_ok = shape_ok && gt->ne[i] == 1;
	if (!shape_ok) {
		char have[96];
		size_t n = (size_t)snprintf(have, sizeof have, "[%llu", (unsigned long long)gt->ne[0]);
		for (uint32_t i = 1; i < gt->n_dims && n < sizeof have; i++)
			n += (size_t)snprintf(have + n, sizeof have - n, ", %llu", (unsigned long long)gt->ne[i]);
		if (n < sizeof have)
			snprintf(have + n, sizeof have - n, "]");
		if (rows)
			q_error("tensor %s has shape %s, expected [%lld, %lld] (%s)", name, have, (long long)cols,
				(long long)rows, why);
		else
			q_error("tensor %s has shape %s, expected [%lld] (%s)", name, have, (long long)cols, why);
		return NULL;
	}
	const char *tname = q_gguf_type_name(gt->type);
	if (f32_only ? gt->type != QK_F32 : !qk_type_is_weight((qk_type)gt->type)) {
		q_error("tensor %s: type %s is not supported%s", name, tname ? tname : "?",
			f32_only ? " (norms and biases must be F32)" : "");
		return NULL;
	}
	size_t rb = qk_row_bytes((qk_type)gt->type, cols);
	if (rb == 0 || gt->nbytes != rb * (uint64_t)(rows ? rows : 1)) {
		q_error("tensor %s: %llu bytes for [%lld][%lld] %s", name, (unsigned long long)gt->nbytes,
			(long long)(rows ? rows : 1), (long long)cols, tname);
		return NULL;
	}
	return gt;
}

/* 1 if p lies in a file-backed mapping (a q_gguf_open file): its clean
 * pages may be dropped and are read again from the file when touched.  Not
 * so for the caller's memory behind q_gguf_open_mem, where MADV_DONTNEED
 * would zero them. */
static int file_backed(const void *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[512];
	int yes = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, inode;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perms, &inode) == 4 &&
		    (uintptr_t)p >= lo && (uintptr_t)p < hi) {
			yes = inode != 0 && perms[1] == '-';
			break;
		}
	}
	fclose(f);
	return yes;
}

/* The backend copied [p, p + n) of a read-only file mapping (a device
 * upload, or the CPU repacking a weight type): drop the whole pages of it so
 * that the file's bytes are not resident twice. */
static void release_source(const void *p, uint64_t n)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), e = ((uintptr_t)p + n) & ~(page - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_DONTNEED);
}

/* find() and make the tensor the backend's (borrowed in place on the CPU
 * unless its kernels want another layout).  An absent optional tensor
 * leaves t->data NULL and returns 0. */
static int bind(q_model *m, qk_tensor *t, const char *name, int64_t rows, int64_t cols, int f32_only,
		int optional, const char *why)
{
	memset(t, 0, sizeof *t);
	const q_gguf_tensor *gt = find(m, name, rows, cols, f32_only, optional, why);
	if (!gt)
		return optional && !q_gguf_find_tensor(m->g, name) ? 0 : -1;
	if (qk_tensor_load(m->be, t, (qk_type)gt->type, rows ? rows : 1, cols, gt->data) < 0)
		return q_error("tensor %s: %s", name, qk_errmsg());
	if (!(t->flags & QK_BORROWED) && m->drop_copied)
		release_source(gt->data, gt->nbytes);
	return 0;
}

/* Layer il's tensor: "blk.<il>.<what>". */
static int bind_l(q_model *m, qk_tensor *t, int il, const char *what, int64_t rows, int64_t cols, int f32,
		  int optional, const char *why)
{
	char name[96];
	snprintf(name, sizeof name, "blk.%d.%s", il, what);
	return bind(m, t, name, rows, cols, f32, optional, why);
}

/* A qwen2 bias: n host floats read in place from the mapping. */
static int bind_bias(q_model *m, const float **out, int il, const char *what, int64_t n, const char *why)
{
	char name[96];
	snprintf(name, sizeof name, "blk.%d.%s", il, what);
	const q_gguf_tensor *gt = find(m, name, 0, n, 1, 0, why);
	if (!gt)
		return -1;
	*out = gt->data;
	return 0;
}

/* Rope scaling.  "<arch>.rope.scaling.type" linear (freq_scale = 1 /
 * factor) or llama3 (with .factor, .low_freq_factor, .high_freq_factor,
 * .original_context_length); or a rope_freqs.weight tensor, which
 * convert_hf_to_gguf.py writes for Llama 3.1+ and which must then be the
 * Llama 3 factors of (factor = its last entry, low 1, high 4, original
 * context 8192) - the only form the kernels implement. */
static int bind_rope_scaling(q_model *m, const char *arch)
{
	qk_rope *r = &m->hp.rope;
	char key[128];
	snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
	q_str type = {"none", 4};
	if (q_gguf_get(m->g, key) && q_gguf_get_str(m->g, key, &type) < 0)
		return -1;
	double factor = 1;
	if (hp_float(m->g, arch, "rope.scaling.factor", 1, &factor) < 0)
		return -1;
	if (type.len == 4 && !memcmp(type.p, "none", 4)) {
		double lin = 1;
		if (hp_float(m->g, arch, "rope.scale_linear", 1, &lin) < 0)
			return -1;
		if (!(lin > 0))
			return q_error("%s.rope.scale_linear %g is not positive", arch, lin);
		r->freq_scale = (float)(1 / lin);
	} else if (type.len == 6 && !memcmp(type.p, "linear", 6)) {
		if (!(factor > 0))
			return q_error("%s.rope.scaling.factor %g is not positive", arch, factor);
		r->freq_scale = (float)(1 / factor);
	} else if (type.len == 6 && !memcmp(type.p, "llama3", 6)) {
		double lo, hi;
		int orig;
		if (hp_float(m->g, arch, "rope.scaling.low_freq_factor", 1, &lo) < 0 ||
		    hp_float(m->g, arch, "rope.scaling.high_freq_factor", 4, &hi) < 0 ||
		    hp_int(m->g, arch, "rope.scaling.original_context_length", 8192, 1, 1 << 24, &orig) < 0)
			return -1;
		r->llama3 = 1;
		r->l3_factor = (float)factor;
		r->l3_low_freq_factor = (float)lo;
		r->l3_high_freq_factor = (float)hi;
		r->l3_orig_ctx = orig;
		if (!(factor > 0) || !(lo > 0) || !(hi > lo))
			return q_error("%s.rope.scaling: invalid llama3 parameters (factor %g, low %g, high %g)", arch,
				       factor, lo, hi);
	} else {
		return q_error("%s.rope.scaling.type '%.*s' is not supported (none, linear, llama3)", arch,
			       (int)type.len, type.p);
	}
	const q_gguf_tensor *ft = q_gguf_find_tensor(m->g, "rope_freqs.weight");
	if (!ft)
		return 0;
	int n = r->n_rot / 2;
	if (ft->type != QK_F32 || ft->n_dims != 1 || ft->ne[0] != (uint64_t)n)
		return q_error("tensor rope_freqs.weight: want %d F32 values (rope.dimension_count / 2)", n);
	if (r->llama3)
		return q_error("both rope_freqs.weight and %s.rope.scaling.type llama3", arch);
	const float *f = ft->data;
	qk_rope l3 = *r;
	l3.llama3 = 1;
	l3.l3_factor = f[n - 1];
	l3.l3_low_freq_factor = 1;
	l3.l3_high_freq_factor = 4;
	l3.l3_orig_ctx = 8192;
	for (int i = 0; i < n; i++) {
		/* the factor qk_rope_cache derives, as convert_hf_to_gguf.py does */
		double freq = 1.0 / pow(l3.freq_base, 2.0 * i / l3.n_rot), wl = 2 * M_PI / freq;
		double want = 1, lo_wl = 8192 / 1.0, hi_wl = 8192 / 4.0;
		if (wl > lo_wl)
			want = l3.l3_factor;
		else if (wl >= hi_wl) {
			double s = (8192 / wl - 1) / (4 - 1);
			want = 1 / ((1 - s) / l3.l3_factor + s);
		}
		if (!(l3.l3_factor > 0) || fabs(f[i] - want) > 1e-4 * fabs(want))
			return q_error("tensor rope_freqs.weight: entry %d is %g, not Llama 3 scaling (%g); "
				       "other rope factors are not supported", i, (double)f[i], want);
	}
	*r = l3;
	return 0;
}

/* Hyper-parameters of the architecture named in general.architecture. */
static int bind_hparams(q_model *m)
{
	q_hparams *hp = &m->hp;
	q_str a;
	if (!q_gguf_get(m->g, "general.architecture"))
		return q_error("missing general.architecture");
	if (q_gguf_get_str(m->g, "general.architecture", &a) < 0)
		return -1;
	char arch[32];
	snprintf(arch, sizeof arch, "%.*s", a.len < 31 ? (int)a.len : 31, a.p);
	hp->arch = 0;
	for (int i = 1; i < (int)(sizeof arch_names / sizeof *arch_names); i++)
		if (a.len == strlen(arch_names[i]) && !memcmp(a.p, arch_names[i], a.len))
			hp->arch = (enum q_arch)i;
	if (!hp->arch)
		return q_error("architecture '%.*s' is not supported (llama, qwen2, qwen3)", (int)(a.len < 64 ? a.len : 64),
			       a.p);
	if (hp_int(m->g, arch, "embedding_length", -1, 1, 1 << 16, &hp->n_embd) < 0 ||
	    hp_int(m->g, arch, "block_count", -1, 1, 4096, &hp->n_layer) < 0 ||
	    hp_int(m->g, arch, "feed_forward_length", -1, 1, 1 << 20, &hp->n_ff) < 0 ||
	    hp_int(m->g, arch, "attention.head_count", -1, 1, 4096, &hp->n_head) < 0 ||
	    hp_int(m->g, arch, "attention.head_count_kv", hp->n_head, 1, 4096, &hp->n_kv_head) < 0 ||
	    hp_int(m->g, arch, "context_length", 0, 0, 1 << 24, &hp->n_ctx_train) < 0)
		return -1;
	if (hp->n_head % hp->n_kv_head)
		return q_error("%s.attention.head_count %d is not a multiple of head_count_kv %d", arch, hp->n_head,
			       hp->n_kv_head);
	int dflt_hd = hp->n_embd % hp->n_head ? -1 : hp->n_embd / hp->n_head, vlen;
	if (hp_int(m->g, arch, "attention.key_length", dflt_hd, 1, 1024, &hp->head_dim) < 0 ||
	    hp_int(m->g, arch, "attention.value_length", hp->head_dim, 1, 1024, &vlen) < 0)
		return -1;
	if (vlen != hp->head_dim)
		return q_error("%s.attention.value_length %d differs from key_length %d", arch, vlen, hp->head_dim);
	double eps, base;
	if (hp_float(m->g, arch, "attention.layer_norm_rms_epsilon", NAN, &eps) < 0 ||
	    hp_float(m->g, arch, "rope.freq_base", 10000, &base) < 0)
		return -1;
	if (!(eps > 0) || !(base > 0))
		return q_error("%s: rms epsilon %g and rope base %g must be positive", arch, eps, base);
	hp->rms_eps = (float)eps;
	qk_rope *r = &hp->rope;
	memset(r, 0, sizeof *r);
	r->head_dim = hp->head_dim;
	if (hp_int(m->g, arch, "rope.dimension_count", hp->head_dim, 2, hp->head_dim, &r->n_rot) < 0)
		return -1;
	if (r->n_rot % 2 || r->n_rot != hp->head_dim)
		return q_error("%s.rope.dimension_count %d: only the full head (%d) is supported", arch, r->n_rot,
			       hp->head_dim);
	r->neox = hp->arch != Q_ARCH_LLAMA;
	r->freq_base = (float)base;
	r->freq_scale = 1;
	return bind_rope_scaling(m, arch);
}

/* Every tensor of the model, checked against the hyper-parameters. */
static int bind_tensors(q_model *m)
{
	q_hparams *hp = &m->hp;
	const q_gguf_tensor *te = q_gguf_find_tensor(m->g, "token_embd.weight");
	if (!te)
		return q_error("tensor token_embd.weight is missing");
	if (te->n_dims != 2 || te->ne[1] == 0 || te->ne[1] > (1 << 22))
		return q_error("tensor token_embd.weight: want [n_embd, n_vocab], n_vocab at most 4194304");
	hp->n_vocab = (int)te->ne[1];
	int64_t d = hp->n_embd, wq = (int64_t)hp->n_head * hp->head_dim, wkv = (int64_t)hp->n_kv_head * hp->head_dim;
	char why_d[64], why_q[96], why_kv[96], why_ff[64], why_hd[64];
	snprintf(why_d, sizeof why_d, "embedding_length %lld", (long long)d);
	snprintf(why_q, sizeof why_q, "head_count %d x head size %d, embedding_length %lld", hp->n_head,
		 hp->head_dim, (long long)d);
	snprintf(why_kv, sizeof why_kv, "head_count_kv %d x head size %d, embedding_length %lld", hp->n_kv_head,
		 hp->head_dim, (long long)d);
	snprintf(why_ff, sizeof why_ff, "feed_forward_length %d", hp->n_ff);
	snprintf(why_hd, sizeof why_hd, "head size %d", hp->head_dim);
	if (bind(m, &m->tok_embd, "token_embd.weight", hp->n_vocab, d, 0, 0, why_d) < 0 ||
	    bind(m, &m->out_norm, "output_norm.weight", 0, d, 1, 0, why_d) < 0 ||
	    bind(m, &m->output, "output.weight", hp->n_vocab, d, 0, 1, why_d) < 0)
		return -1;
	if (!m->output.data)
		m->output = m->tok_embd; /* tied embeddings */
	m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
	if (!m->layers)
		return q_error("out of memory");
	for (int il = 0; il < hp->n_layer; il++) {
		layer *L = &m->layers[il];
		if (bind_l(m, &L->attn_norm, il, "attn_norm.weight", 0, d, 1, 0, why_d) < 0 ||
		    bind_l(m, &L->wq, il, "attn_q.weight", wq, d, 0, 0, why_q) < 0 ||
		    bind_l(m, &L->wk, il, "attn_k.weight", wkv, d, 0, 0, why_kv) < 0 ||
		    bind_l(m, &L->wv, il, "attn_v.weight", wkv, d, 0, 0, why_kv) < 0 ||
		    bind_l(m, &L->wo, il, "attn_output.weight", d, wq, 0, 0, why_q) < 0 ||
		    bind_l(m, &L->ffn_norm, il, "ffn_norm.weight", 0, d, 1, 0, why_d) < 0 ||
		    bind_l(m, &L->w_gate, il, "ffn_gate.weight", hp->n_ff, d, 0, 0, why_ff) < 0 ||
		    bind_l(m, &L->w_up, il, "ffn_up.weight", hp->n_ff, d, 0, 0, why_ff) < 0 ||
		    bind_l(m, &L->w_down, il, "ffn_down.weight", d, hp->n_ff, 0, 0, why_ff) < 0)
			return -1;
		if (hp->arch == Q_ARCH_QWEN2 &&
		    (bind_bias(m, &L->bq, il, "attn_q.bias", wq, why_q) < 0 ||
		     bind_bias(m, &L->bk, il, "attn_k.bias", wkv, why_kv) < 0 ||
		     bind_bias(m, &L->bv, il, "attn_v.bias", wkv, why_kv) < 0))
			return -1;
		if (hp->arch == Q_ARCH_QWEN3 &&
		    (bind_l(m, &L->q_norm, il, "attn_q_norm.weight", 0, hp->head_dim, 1, 0, why_hd) < 0 ||
		     bind_l(m, &L->k_norm, il, "attn_k_norm.weight", 0, hp->head_dim, 1, 0, why_hd) < 0))
			return -1;
	}
	return 0;
}

q_model *q_model_new(const q_gguf *g, qk_backend *be)
{
	q_model *m = calloc(1, sizeof *m);
	if (!m)
		return q_error("out of memory"), NULL;
	m->g = g;
	m->be = be;
	m->drop_copied = q_gguf_n_tensors(g) > 0 && file_backed(q_gguf_tensor_at(g, 0)->data);
	if (bind_hparams(m) < 0 || bind_tensors(m) < 0) {
		q_model_free(m);
		return NULL;
	}
	return m;
}

/* Borrowed tensors own nothing on the CPU; a device backend frees its copies. */
void q_model_free(q_model *m)
{
	if (!m)
		return;
	if (m->layers) {
		for (int il = 0; il < m->hp.n_layer; il++) {
			layer *L = &m->layers[il];
			qk_tensor *ts[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->q_norm, &L->k_norm,
					   &L->wo, &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
			for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
				qk_tensor_free(m->be, ts[i]);
		}
		free(m->layers);
	}
	if (m->output.data != m->tok_embd.data)
		qk_tensor_free(m->be, &m->output);
	qk_tensor_free(m->be, &m->tok_embd);
	qk_tensor_free(m->be, &m->out_norm);
	free(m);
}

const q_hparams *q_model_hparams(const q_model *m)
{
	return &m->hp;
}

const char *q_model_arch_name(const q_model *m)
{
	return arch_names[m->hp.arch];
}

/* ------------------------------------------------------------ forward */

struct q_fwd {
	const q_model *m;
	q_kv *kv;
	int max_tok, max_out;
	qk_tensor x;           /* [T][d] residual stream */
	qk_tensor h;           /* [T][d] normed input of a block */
	qk_tensor q;           /* [T][nh * hd] */
	qk_tensor k, v;        /* [T][nkv * hd] */
	qk_tensor att;         /* [T][nh * hd] attention output */
	qk_tensor o;           /* [T][d] projection output */
	qk_tensor gate, up;    /* [T][ff] */
	qk_tensor bias;        /* qwen2: [T][nh * hd], a bias repeated per row */
	float *bias_host;      /* its host staging, T * nh * hd */
	qk_tensor xo;          /* [max_out][d] residual of the output rows */
	qk_tensor logits;      /* [max_out][n_vocab] */
	qk_tensor ids, pos, seq, slots; /* I32 [1][T] */
	qk_tensor nb, nbo;     /* I32 [2][T]: llama.cpp batch size and index (qk_matmul); nbo: of the output rows */
	int32_t *slot_host;    /* [T] */
	int32_t *nb_host, *nbo_host; /* [2][T] as [2][n] */
	int32_t *out_rows;     /* [T]: batch row of each output row */
	float *logits_host;    /* [max_out][n_vocab] */
	int n_out;
};

/* First n rows of t, as a descriptor that may be written with qk_tensor_set. */
static qk_tensor top(const qk_tensor *t, int64_t n)
{
	qk_tensor v = *t;
	v.rows = n;
	return v;
}

/* First n columns of the one-row I32 tensor t. */
static qk_tensor head(const qk_tensor *t, int64_t n)
{
	qk_tensor v = *t;
	v.cols = n;
	return v;
}

q_fwd *q_fwd_new(const q_model *m, q_kv *kv, int max_tok)
{
	const q_hparams *hp = &m->hp;
	const q_kv_config *kc = q_kv_conf(kv);
	if (max_tok <= 0 || max_tok > 1 << 16)
		return q_error("forward: batch of %d tokens", max_tok), NULL;
	if (kc->n_layer != hp->n_layer || kc->n_kv_head != hp->n_kv_head || kc->head_dim != hp->head_dim)
		return q_error("forward: the KV pool (%d layers of %d x %d) does not fit the model (%d of %d x %d)",
			       kc->n_layer, kc->n_kv_head, kc->head_dim, hp->n_layer, hp->n_kv_head, hp->head_dim),
		       NULL;
	q_fwd *f = calloc(1, sizeof *f);
	if (!f)
		return q_error("out of memory"), NULL;
	f->m = m;
	f->kv = kv;
	f->max_tok = max_tok;
	f->max_out = max_tok < q_kv_max_seqs(kv) ? max_tok : q_kv_max_seqs(kv);
	int64_t T = max_tok, d = hp->n_embd, wq = (int64_t)hp->n_head * hp->head_dim,
		wkv = (int64_t)hp->n_kv_head * hp->head_dim;
	qk_backend *be = m->be;
	f->slot_host = malloc((size_t)T * sizeof *f->slot_host);
	f->nb_host = malloc((size_t)T * 2 * sizeof *f->nb_host);
	f->nbo_host = malloc((size_t)T * 2 * sizeof *f->nbo_host);
	f->out_rows = malloc((size_t)T * sizeof *f->out_rows);
	if (!f->slot_host || !f->nb_host || !f->nbo_host || !f->out_rows) {
		q_fwd_free(f);
		return q_error("out of memory"), NULL;
	}
	if (qk_tensor_alloc(be, &f->x, QK_F32, T, d) < 0 || qk_tensor_alloc(be, &f->h, QK_F32, T, d) < 0 ||
	    qk_tensor_alloc(be, &f->q, QK_F32, T, wq) < 0 || qk_tensor_alloc(be, &f->k, QK_F32, T, wkv) < 0 ||
	    qk_tensor_alloc(be, &f->v, QK_F32, T, wkv) < 0 || qk_tensor_alloc(be, &f->att, QK_F32, T, wq) < 0 ||
	    qk_tensor_alloc(be, &f->o, QK_F32, T, d) < 0 ||
	    qk_tensor_alloc(be, &f->gate, QK_F32, T, hp->n_ff) < 0 ||
	    qk_tensor_alloc(be, &f->up, QK_F32, T, hp->n_ff) < 0 ||
	    qk_tensor_alloc(be, &f->ids, QK_I32, 1, T) < 0 || qk_tensor_alloc(be, &f->pos, QK_I32, 1, T) < 0 ||
	    qk_tensor_alloc(be, &f->seq, QK_I32, 1, T) < 0 || qk_tensor_alloc(be, &f->slots, QK_I32, 1, T) < 0 ||
	    qk_tensor_alloc(be, &f->nb, QK_I32, 2, T) < 0 || qk_tensor_alloc(be, &f->nbo, QK_I32, 2, T) < 0 ||
	    (hp->arch == Q_ARCH_QWEN2 && qk_tensor_alloc(be, &f->bias, QK_F32, T, wq) < 0))
		goto oom;
	if (hp->arch == Q_ARCH_QWEN2 && !(f->bias_host = malloc((size_t)(T * wq) * sizeof(float)))) {
		q_fwd_free(f);
		return q_error("out of memory"), NULL;
	}
	if (q_fwd_set_max_out(f, f->max_out) < 0) {
		q_fwd_free(f);
		return NULL;
	}
	return f;
oom:
	q_error("forward: %s", qk_errmsg());
	q_fwd_free(f);
	return NULL;
}

/* (Re)allocate the output side for n rows of logits: the new buffers are
 * made first, so a failure leaves the old ones in place. */
int q_fwd_set_max_out(q_fwd *f, int n)
{
	const q_hparams *hp = &f->m->hp;
	if (n <= 0 || n > f->max_tok)
		return q_error("forward: %d output rows for batches of %d", n, f->max_tok);
	qk_tensor xo, logits;
	float *host = malloc((size_t)n * (size_t)hp->n_vocab * sizeof(float));
	if (!host)
		return q_error("out of memory (%d rows of logits)", n);
	if (qk_tensor_alloc(f->m->be, &xo, QK_F32, n, hp->n_embd) < 0) {
		free(host);
		return q_error("forward: %s", qk_errmsg());
	}
	if (qk_tensor_alloc(f->m->be, &logits, QK_F32, n, hp->n_vocab) < 0) {
		qk_tensor_free(f->m->be, &xo);
		free(host);
		return q_error("forward: %s", qk_errmsg());
	}
	qk_tensor_free(f->m->be, &f->xo);
	qk_tensor_free(f->m->be, &f->logits);
	free(f->logits_host);
	f->xo = xo;
	f->logits = logits;
	f->logits_host = host;
	f->max_out = n;
	return 0;
}

int q_fwd_max_out(const q_fwd *f)
{
	return f->max_out;
}

void q_fwd_free(q_fwd *f)
{
	if (!f)
		return;
	qk_backend *be = f->m->be;
	qk_tensor *ts[] = {&f->x, &f->h, &f->q, &f->k, &f->v, &f->att, &f->o, &f->gate, &f->up, &f->bias,
			   &f->xo, &f->logits, &f->ids, &f->pos, &f->seq, &f->slots, &f->nb, &f->nbo};
	for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
		qk_tensor_free(be, ts[i]);
	free(f->bias_host);
	free(f->slot_host);
	free(f->nb_host);
	free(f->nbo_host);
	free(f->out_rows);
	free(f->logits_host);
	free(f);
}

/* t[:n] += the bias b (w floats) on every row: the kernels' add wants equal
 * shapes, so the bias is repeated into the staging tensor first. */
static int add_bias(q_fwd *f, qk_tensor *t, const float *b, int64_t n)
{
	int64_t w = t->cols;
	for (int64_t r = 0; r < n; r++)
		memcpy(f->bias_host + r * w, b, (size_t)w * sizeof(float));
	qk_tensor rep = top(&f->bias, n);
	rep.cols = w;
	qk_tensor y = top(t, n);
	if (qk_tensor_set(f->m->be, &rep, f->bias_host, (size_t)(n * w) * sizeof(float)) < 0 ||
	    qk_add(f->m->be, &y, &y, &rep) < 0)
		return -1;
	return 0;
}

/* RMSNorm of every head of t[:n] (dense rows of n_head * hd) with g [1][hd]. */
static int norm_heads(qk_backend *be, qk_tensor *t, int64_t n, const qk_tensor *g, float eps)
{
	qk_tensor v = *t;
	v.rows = n * (t->cols / g->cols);
	v.cols = g->cols;
	v.stride = (size_t)g->cols * sizeof(float);
	return qk_rmsnorm(be, &v, &v, g, eps);
}

/* Check the batch against the cache and the scratch sizes; fill slots and
 * the list of output rows. */
static int check_batch(q_fwd *f, const q_batch *b)
{
	const q_hparams *hp = &f->m->hp;
	if (b->n <= 0 || b->n > f->max_tok)
		return q_error("forward: batch of %d tokens (at most %d)", b->n, f->max_tok);
	f->n_out = 0;
	for (int i = 0; i < b->n; i++) {
		if (b->tok[i] < 0 || b->tok[i] >= hp->n_vocab)
			return q_error("forward: token id %d outside the vocabulary of %d", b->tok[i], hp->n_vocab);
		if (b->seq[i] < 0 || b->seq[i] >= q_kv_max_seqs(f->kv))
			return q_error("forward: sequence %d", b->seq[i]);
		if (b->pos[i] < 0 || b->pos[i] >= q_kv_seq_capacity(f->kv, b->seq[i]))
			return q_error("forward: position %d of sequence %d has no cache block", b->pos[i], b->seq[i]);
		f->slot_host[i] = q_kv_slot(f->kv, b->seq[i], b->pos[i]);
		if (b->out[i]) {
			if (f->n_out == f->max_out)
				return q_error("forward: more than %d rows of logits in one batch", f->max_out);
			f->out_rows[f->n_out++] = i;
		}
	}
	/* batch sizes and indices as the kernels take them (qk_matmul) */
	for (int i = 0; i < b->n; i++) {
		f->nb_host[i] = b->nb && b->nb[i] > 1 ? b->nb[i] : 1;
		f->nb_host[b->n + i] = b->nb && b->nb_index && b->nb[i] > 1 ? b->nb_index[i] : 0;
	}
	/* The output rows': llama.cpp runs the last layer's FFN and the output
	 * matmul over its outputs only, so a row that is its sequence's only
	 * output here stands for a batch of 1 (a prompt decoded for its last
	 * logits); rows of a sequence with several outputs (teacher forcing)
	 * keep theirs. */
	for (int j = 0; j < f->n_out; j++) {
		int t = f->out_rows[j], s = b->seq[t];
		int several = (j > 0 && b->seq[f->out_rows[j - 1]] == s) ||
			      (j + 1 < f->n_out && b->seq[f->out_rows[j + 1]] == s);
		f->nbo_host[j] = several ? f->nb_host[t] : 1;
		f->nbo_host[f->n_out + j] = several ? f->nb_host[b->n + t] : 0;
	}
	return 0;
}

/* The forward pass; see the invariants at the top for the op order. */
int q_fwd_run(q_fwd *f, const q_batch *b)
{
	const q_model *m = f->m;
	const q_hparams *hp = &m->hp;
	qk_backend *be = m->be;
	if (check_batch(f, b) < 0)
		return -1;
	int64_t n = b->n, n_out = f->n_out;
	const qk_tensor *table = q_kv_table(f->kv);
	if (!table)
		return -1;
	qk_tensor ids = head(&f->ids, n), pos = head(&f->pos, n), seq = head(&f->seq, n),
		  slots = head(&f->slots, n), nb = head(&f->nb, n), nbo = head(&f->nbo, n_out); /* [2][n] */
	size_t ib = (size_t)n * sizeof(int32_t);
	qk_tensor x = top(&f->x, n), h = top(&f->h, n), q = top(&f->q, n), k = top(&f->k, n),
		  v = top(&f->v, n), att = top(&f->att, n), o = top(&f->o, n);
	qk_rope rq = hp->rope, rk = hp->rope;
	rq.n_head = hp->n_head;
	rk.n_head = hp->n_kv_head;
	qk_attn ap = {.n_head = hp->n_head, .n_kv_head = hp->n_kv_head, .head_dim = hp->head_dim,
		      .block_size = q_kv_block_size(f->kv), .scale = 1.0f / sqrtf((float)hp->head_dim)};
	if (qk_tensor_set(be, &ids, b->tok, ib) < 0 || qk_tensor_set(be, &pos, b->pos, ib) < 0 ||
	    qk_tensor_set(be, &seq, b->seq, ib) < 0 || qk_tensor_set(be, &slots, f->slot_host, ib) < 0 ||
	    qk_tensor_set(be, &nb, f->nb_host, 2 * ib) < 0 ||
	    (n_out && qk_tensor_set(be, &nbo, f->nbo_host, (size_t)n_out * 2 * sizeof(int32_t)) < 0) ||
	    qk_embed(be, &x, &m->tok_embd, &ids) < 0)
		goto fail;
	for (int il = 0; il < hp->n_layer; il++) {
		const layer *L = &m->layers[il];
		if (qk_rmsnorm(be, &h, &x, &L->attn_norm, hp->rms_eps) < 0 || qk_matmul_n(be, 3, (qk_tensor *[]){&q, &k, &v}, &h,
				(const qk_tensor *[]){&L->wq, &L->wk, &L->wv}, &nb) < 0)
			goto fail;
		if (L->bq && (add_bias(f, &q, L->bq, n) < 0 || add_bias(f, &k, L->bk, n) < 0 ||
			      add_bias(f, &v, L->bv, n) < 0))
			goto fail;
		if (L->q_norm.data && (norm_heads(be, &q, n, &L->q_norm, hp->rms_eps) < 0 ||
				       norm_heads(be, &k, n, &L->k_norm, hp->rms_eps) < 0))
			goto fail;
		if (qk_rope_apply(be, &q, &pos, &rq) < 0 || qk_rope_apply(be, &k, &pos, &rk) < 0 ||
		    qk_kv_store(be, q_kv_k(f->kv, il), q_kv_v(f->kv, il), &k, &v, &slots) < 0 ||
		    qk_attention(be, &att, &q, q_kv_k(f->kv, il), q_kv_v(f->kv, il), &pos, &seq, table, &nb, &ap) < 0 ||
		    qk_matmul(be, &o, &att, &L->wo, &nb) < 0)
			goto fail;
		qk_tensor cur = x, *fnb = &nb;
		if (il == hp->n_layer - 1) {
			if (n_out == 0)
				return 0;
			/* the output rows' batch sizes, also when every row is an
			 * output (a prompt's last token alone in a batch of
			 * decode tokens still stands for a batch of 1 here) */
			fnb = &nbo;
			if (n_out < n) {
				/* only the output rows go on: gather them while adding the residual */
				cur = top(&f->xo, n_out);
				for (int64_t j = 0; j < n_out; j++) {
					qk_tensor yj = qk_tensor_rows(&cur, j, 1), oj = qk_tensor_rows(&o, f->out_rows[j], 1),
						  xj = qk_tensor_rows(&x, f->out_rows[j], 1);
					if (qk_add(be, &yj, &oj, &xj) < 0)
						goto fail;
				}
			}
		}
		if (cur.data == x.data && qk_add(be, &x, &o, &x) < 0)
			goto fail;
		int64_t r = cur.rows;
		qk_tensor hr = top(&f->h, r), gr = top(&f->gate, r), ur = top(&f->up, r), orr = top(&f->o, r);
		if (qk_rmsnorm(be, &hr, &cur, &L->ffn_norm, hp->rms_eps) < 0 ||
		    qk_matmul_n(be, 2, (qk_tensor *[]){&gr, &ur}, &hr, (const qk_tensor *[]){&L->w_gate, &L->w_up}, fnb) < 0 ||
		    qk_silu_mul(be, &gr, &gr, &ur) < 0 || qk_matmul(be, &orr, &gr, &L->w_down, fnb) < 0 ||
		    qk_add(be, &cur, &orr, &cur) < 0)
			goto fail;
		if (il == hp->n_layer - 1) {
			qk_tensor ho = top(&f->h, n_out), lo = top(&f->logits, n_out);
			if (qk_rmsnorm(be, &ho, &cur, &m->out_norm, hp->rms_eps) < 0 ||
			    qk_matmul(be, &lo, &ho, &m->output, fnb) < 0 ||
			    qk_tensor_get(be, &lo, f->logits_host, (size_t)n_out * (size_t)hp->n_vocab * sizeof(float)) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	return q_error("forward: %s", qk_errmsg());
}

float *q_fwd_logits(q_fwd *f, int k)
{
	return f->logits_host + (size_t)k * (size_t)f->m->hp.n_vocab;
}
