/*
 * qk-test.c - checks for libqk's CPU kernels, one subcommand per t4 test:
 *
 *   qk-test dequant FILE...   dequantize vs gguf.quants.dequantize (bit exact)
 *   qk-test act FILE          activation quantizers vs llama.cpp's from_float
 *   qk-test mm FILE...        matmul of every ISA vs llama.cpp's vec_dot and
 *                             vs a float64 dot of the dequantized operands
 *   qk-test simd              every SIMD matmul vs the reference on odd shapes
 *   qk-test threads           1, 2 and 3 threads give identical bytes, and a
 *                             token alone the same as inside a batch
 *   qk-test multi             qk_matmul_n (several weights, one input) gives
 *                             each weight's qk_matmul bytes; bad calls refused
 *   qk-test ops               rmsnorm, rope, silu*mul, softmax, add, embed,
 *                             argmax: each ISA vs the reference vs float64
 *   qk-test attn              paged attention (F32 and F16 caches, GQA, mixed
 *                             batches) vs float64; bad block tables refused;
 *                             a GQA group at once == its heads one by one
 *   qk-test info              the ISA and threads qk_cpu_new picks ($QK_ISA)
 *   qk-test bench [-t N] [-n TOK] [-r SEC] [TYPE...]
 *                             matmul speed on SmolLM2-135M's shapes per type
 *                             and ISA (t/bench/qk-matmul runs it)
 *   qk-test peer LIBDIR [TYPE...]
 *                             the same shapes through llama.cpp's vec_dot
 *                             (libggml-cpu.so in LIBDIR), one thread each
 *
 * Invariant: every comparison has an explicit bound; the largest error seen
 * (relative to its bound) is printed as a "# " note, a failure goes to
 * stderr and makes the exit status 1.  Fixtures come from t/data/qk/gen.py.
 */
#include "qk.h"
#include "cpu/cpu.h"
#include "buf.h"
#include "err.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define FAIL(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), failures++)

static const char *isas[] = {"ref", "avx2", "avx512"};
#define NISA 3

static qk_backend *backend(const char *isa, int nth)
{
	qk_backend *be = qk_cpu_new(nth, isa);
	if (!be && strcmp(isa, "ref") == 0) {
		fprintf(stderr, "qk_cpu_new: %s\n", qk_errmsg());
		exit(1);
	}
	return be;
}

/* ------------------------------------------------------------------ rng */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static float unif(void) /* [-1, 1) */
{
	return (float)((double)(rnd() >> 11) * 0x1p-52 - 1.0);
}

static float gauss(void)
{
	return (unif() + unif() + unif() + unif()) * 0.8660254f;
}

/* Random weight blocks for k-element rows: arbitrary quant bits, finite
 * half scales like real files. */
static uint8_t *random_weights(qk_type t, int64_t m, int64_t k)
{
	size_t rb = qk_row_bytes(t, k), bb = qk_type_block_bytes(t);
	uint8_t *w = malloc((size_t)m * rb);
	for (size_t i = 0; i < (size_t)m * rb; i++)
		w[i] = (uint8_t)rnd();
	size_t nblk = (size_t)m * rb / bb;
	for (size_t b = 0; b < nblk; b++) {
		uint8_t *p = w + b * bb;
		float s = fabsf(gauss()) * 0.02f + 1e-4f;
		uint16_t h = qk_fp32_to_fp16(s), h2;
		switch (t) {
		case QK_F32: { float f = gauss(); memcpy(p, &f, 4); break; }
		case QK_F16: h = qk_fp32_to_fp16(gauss()); memcpy(p, &h, 2); break;
		case QK_BF16: h = qk_fp32_to_bf16(gauss()); memcpy(p, &h, 2); break;
		case QK_Q4_0: case QK_Q8_0:
			h = qk_fp32_to_fp16(rnd() & 1 ? s : -s);
			memcpy(p, &h, 2);
			break;
		case QK_Q4_1:
			h2 = qk_fp32_to_fp16(gauss() * 0.1f);
			memcpy(p, &h, 2);
			memcpy(p + 2, &h2, 2);
			break;
		case QK_Q4_K: case QK_Q5_K:
			h2 = qk_fp32_to_fp16(s * 0.5f);
			memcpy(p, &h, 2);
			memcpy(p + 2, &h2, 2);
			break;
		case QK_Q6_K: memcpy(p + bb - 2, &h, 2); break;
		default: break;
		}
	}
	return w;
}

/* The same row with every quant bit cleared: dequantizes to the per-element
 * offsets (Q4_1 m, K-quant -dmin*m, -8d, -32d*sc), used to size bounds. */
static void zero_quants(qk_type t, uint8_t *row, int64_t k)
{
	size_t bb = qk_type_block_bytes(t);
	for (int64_t b = 0; b < k / qk_type_block(t); b++) {
		uint8_t *p = row + (size_t)b * bb;
		switch (t) {
		case QK_Q4_0: memset(p + 2, 0, 16); break;
		case QK_Q4_1: memset(p + 4, 0, 16); break;
		case QK_Q8_0: memset(p + 2, 0, 32); break;
		case QK_Q4_K: memset(p + 16, 0, 128); break;
		case QK_Q5_K: memset(p + 16, 0, 160); break;
		case QK_Q6_K: memset(p, 0, 192); break;
		default: memset(p, 0, bb); break;
		}
	}
}

/* ------------------------------------------------------------- matmul */

/* Run y[n][m] = x[n][k] . w^T on be, the tokens standing for llama.cpp
 * batches as nbi says (qk_matmul's [2][n]: sizes, then indices; NULL: each
 * a batch of 1). */
static int matmul_nb(qk_backend *be, qk_type t, const uint8_t *w, int64_t m, int64_t k, const float *x,
		     int64_t n, float *y, const int32_t *nbi)
{
	qk_tensor tw, tx, ty, tn = {0};
	if (qk_tensor_load(be, &tw, t, m, k, w) < 0 || qk_tensor_alloc(be, &tx, QK_F32, n, k) < 0 ||
	    qk_tensor_alloc(be, &ty, QK_F32, n, m) < 0 ||
	    (nbi && (qk_tensor_alloc(be, &tn, QK_I32, 2, n) < 0 ||
		     qk_tensor_set(be, &tn, nbi, (size_t)(2 * n) * 4) < 0)) ||
	    qk_tensor_set(be, &tx, x, (size_t)(n * k) * 4) < 0 || qk_matmul(be, &ty, &tx, &tw, nbi ? &tn : NULL) < 0 ||
	    qk_tensor_get(be, &ty, y, (size_t)(n * m) * 4) < 0) {
		FAIL("matmul %s: %s", qk_type_name(t), qk_errmsg());
		return -1;
	}
	/* the weights come back byte for byte, whatever layout the backend keeps */
	size_t wb = (size_t)m * qk_row_bytes(t, k);
	uint8_t *back = malloc(wb);
	if (!back || qk_tensor_get(be, &tw, back, wb) < 0 || memcmp(back, w, wb))
		FAIL("matmul %s %lldx%lld: the weights read back differ", qk_type_name(t), (long long)m, (long long)k);
	free(back);
	qk_tensor_free(be, &tw);
	qk_tensor_free(be, &tx);
	qk_tensor_free(be, &ty);
	if (nbi)
		qk_tensor_free(be, &tn);
	return 0;
}

static int matmul(qk_backend *be, qk_type t, const uint8_t *w, int64_t m, int64_t k, const float *x,
		  int64_t n, float *y)
{
	return matmul_nb(be, t, w, m, k, x, n, y, NULL);
}

/* nbi for n tokens of one llama.cpp batch of nb (nb >= n: the first n of it,
 * from index i0); [2][n], malloc'ed. */
static int32_t *batch_info(int64_t n, int32_t nb, int32_t i0)
{
	int32_t *v = malloc((size_t)(2 * n) * 4);
	for (int64_t i = 0; i < n; i++) {
		v[i] = nb;
		v[n + i] = i0 + (int32_t)i;
	}
	return v;
}

/* The activation type the kernels quantize x to for weight type t. */
static qk_type act_type(qk_type t)
{
	switch (t) {
	case QK_F16: return QK_F16;
	case QK_BF16: return QK_BF16;
	case QK_Q4_0: case QK_Q4_1: case QK_Q8_0: return QK_Q8_1;
	case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: return QK_Q8_K;
	default: return QK_F32;
	}
}

/* Float64 dot of the dequantized weights with the dequantized quantized
 * activations, for every (token, row); bound[] gets the error allowed for
 * an F32 computation of it: 2 (N + 8) 2^-24 S, S = sum |w||x| + |offset||x|
 * and N the number of F32 additions (blocks, or k for float types), plus
 * for Q4_1 the rounding of ggml's Q8_1 s = half(d * sum) (2^-11 relative). */
static void exact(qk_type t, const uint8_t *w, int64_t m, int64_t k, const float *x, int64_t n,
		  double *val, double *bound)
{
	size_t rb = qk_row_bytes(t, k);
	qk_type at = act_type(t);
	size_t ab = qk_row_bytes(at, k);
	float *wd = malloc((size_t)k * 4), *zd = malloc((size_t)k * 4), *xd = malloc((size_t)k * 4);
	uint8_t *xq = malloc(ab), *z = malloc(rb);
	int64_t nadd = qk_type_block(t) == 1 ? k : k / qk_type_block(t);
	for (int64_t i = 0; i < n; i++) {
		qk_quantize_row(at, x + i * k, xq, k);
		qk_dequantize_row(at, xq, xd, k);
		for (int64_t r = 0; r < m; r++) {
			memcpy(z, w + r * rb, rb);
			zero_quants(t, z, k);
			qk_dequantize_row(t, w + r * rb, wd, k);
			qk_dequantize_row(t, z, zd, k);
			double s = 0, mag = 0, extra = 0;
			for (int64_t j = 0; j < k; j++) {
				s += (double)wd[j] * xd[j];
				mag += (fabs(wd[j]) + fabs(zd[j])) * fabs(xd[j]);
			}
			if (t == QK_Q4_1)
				for (int64_t b = 0; b < k / QK_32; b++) {
					qk_block_q8_1 xb;
					memcpy(&xb, xq + b * sizeof xb, sizeof xb);
					double sum = 0;
					for (int j = 0; j < QK_32; j++)
						sum += xb.qs[j];
					extra += fabs(zd[b * QK_32]) * fabs(qk_fp16_to_fp32(xb.d) * sum) * 0x1p-10;
				}
			val[i * m + r] = s;
			bound[i * m + r] = 2.0 * (double)(nadd + 8) * 0x1p-24 * mag + extra + 1e-30;
		}
	}
	free(wd), free(zd), free(xd), free(xq), free(z);
}

/* Compare got[] to want[] within bound[]; note the worst error/bound. */
static void check(const char *what, const float *got, const double *want, const double *bound, int64_t cnt)
{
	double worst = 0;
	int64_t wi = 0;
	for (int64_t i = 0; i < cnt; i++) {
		double e = fabs((double)got[i] - want[i]) / bound[i];
		if (!(e <= worst)) {
			worst = e;
			wi = i;
		}
	}
	if (!(worst <= 1))
		FAIL("%s: element %lld is %.9g, want %.9g (bound %.3g)", what, (long long)wi, (double)got[wi],
		     want[wi], bound[wi]);
	printf("# %-34s max |err|/bound %.3f\n", what, worst);
}

/* ----------------------------------------------------------- fixtures */

static uint8_t *slurp(const char *path, size_t *len)
{
	q_buf b = Q_BUF_INIT;
	if (q_buf_read_file(&b, path) < 0) {
		fprintf(stderr, "%s\n", q_errmsg());
		exit(1);
	}
	return (uint8_t *)q_buf_detach(&b, len);
}

static int32_t i32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static int same_float(float a, float b)
{
	return qk_bits_f32(a) == qk_bits_f32(b) || (a != a && b != b);
}

static void cmd_dequant(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		size_t len;
		uint8_t *f = slurp(argv[i], &len);
		if (len < 12 || memcmp(f, "QKDQ", 4)) {
			FAIL("%s: not a QKDQ fixture", argv[i]);
			continue;
		}
		qk_type t = (qk_type)i32(f + 4);
		int64_t nb = i32(f + 8), k = nb * qk_type_block(t);
		size_t qb = qk_row_bytes(t, k);
		if (len != 12 + qb + (size_t)k * 4) {
			FAIL("%s: size %zu", argv[i], len);
			continue;
		}
		const uint8_t *q = f + 12;
		float *want = malloc((size_t)k * 4), *got = malloc((size_t)k * 4);
		memcpy(want, f + 12 + qb, (size_t)k * 4);
		int64_t bad = 0;
		if (qk_dequantize_row(t, q, got, k) < 0)
			FAIL("%s: %s", argv[i], qk_errmsg());
		for (int64_t j = 0; j < k; j++)
			bad += !same_float(got[j], want[j]);
		if (bad)
			FAIL("%s: %lld of %lld values differ", argv[i], (long long)bad, (long long)k);
		/* the same rows through every ISA's embedding lookup */
		int64_t rows = qk_type_block(t) == 1 ? 16 : qk_type_block(t) == QK_32 ? 4 : nb;
		int64_t cols = k / rows;
		int32_t *ids = malloc((size_t)rows * 4);
		for (int64_t r = 0; r < rows; r++)
			ids[r] = (int32_t)(rows - 1 - r);
		for (int s = 0; s < NISA; s++) {
			qk_backend *be = backend(isas[s], 2);
			if (!be)
				continue;
			qk_tensor tt, ti, ty;
			int64_t ebad = 0;
			if (qk_tensor_load(be, &tt, t, rows, cols, q) < 0 ||
			    qk_tensor_alloc(be, &ti, QK_I32, 1, rows) < 0 ||
			    qk_tensor_alloc(be, &ty, QK_F32, rows, cols) < 0 ||
			    qk_tensor_set(be, &ti, ids, (size_t)rows * 4) < 0 || qk_embed(be, &ty, &tt, &ti) < 0 ||
			    qk_tensor_get(be, &ty, got, (size_t)k * 4) < 0) {
				FAIL("%s: embed %s: %s", argv[i], isas[s], qk_errmsg());
			} else {
				/* the backend's copy (packed or not) reads back as loaded */
				uint8_t *back = malloc(qb);
				if (qk_tensor_get(be, &tt, back, qb) < 0 || memcmp(back, q, qb))
					FAIL("%s: %s: tensor_get differs from the loaded bytes", argv[i], isas[s]);
				free(back);
				for (int64_t r = 0; r < rows; r++)
					for (int64_t c = 0; c < cols; c++)
						ebad += !same_float(got[r * cols + c], want[ids[r] * cols + c]);
				if (ebad)
					FAIL("%s: embed %s: %lld values differ", argv[i], isas[s], (long long)ebad);
			}
			qk_tensor_free(be, &tt), qk_tensor_free(be, &ti), qk_tensor_free(be, &ty);
			qk_backend_free(be);
		}
		printf("# dequantize %-5s %6lld values: %lld differ (embed on every ISA too)\n",
		       qk_type_name(t), (long long)k, (long long)bad);
		free(ids), free(want), free(got), free(f);
	}
}

static void cmd_act(const char *path)
{
	size_t len;
	uint8_t *f = slurp(path, &len);
	if (len < 12 || memcmp(f, "QKAC", 4)) {
		FAIL("%s: not a QKAC fixture", path);
		return;
	}
	int64_t k = i32(f + 4), ntie = i32(f + 8);
	static const qk_type ts[] = {QK_Q8_0, QK_Q8_1, QK_Q8_K, QK_F16, QK_BF16};
	size_t off = 12 + (size_t)k * 4, need = off;
	for (int i = 0; i < 5; i++)
		need += qk_row_bytes(ts[i], k);
	need += qk_row_bytes(QK_Q8_0, k) + (size_t)k;
	if (len != need) {
		FAIL("%s: size %zu, want %zu", path, len, need);
		return;
	}
	float *x = malloc((size_t)k * 4);
	memcpy(x, f + 12, (size_t)k * 4);
	uint8_t *got = malloc((size_t)k * 4);
	for (int i = 0; i < 5; i++) {
		size_t rb = qk_row_bytes(ts[i], k);
		qk_quantize_row(ts[i], x, got, k);
		size_t bad = 0;
		for (size_t j = 0; j < rb; j++)
			bad += got[j] != f[off + j];
		if (bad)
			FAIL("act %s: %zu of %zu bytes differ from llama.cpp", qk_type_name(ts[i]), bad, rb);
		printf("# quantize %-5s %zu bytes: %zu differ from llama.cpp's from_float\n",
		       qk_type_name(ts[i]), rb, bad);
		off += rb;
	}
	/* against gguf.quants.quantize(Q8_0): equal except at the marked ties,
	 * where ggml x86 rounds half to even and gguf half away from zero */
	const uint8_t *g = f + off, *tie = g + qk_row_bytes(QK_Q8_0, k);
	qk_quantize_row(QK_Q8_0, x, got, k);
	int64_t same = 0, tied = 0, bad = 0;
	for (int64_t b = 0; b < k / QK_32; b++) {
		if (memcmp(got + 34 * b, g + 34 * b, 2))
			bad++;
		for (int j = 0; j < QK_32; j++) {
			int a = (int8_t)got[34 * b + 2 + j], e = (int8_t)g[34 * b + 2 + j];
			if (a == e && !tie[QK_32 * b + j])
				same++;
			else if (tie[QK_32 * b + j] && abs(a - e) == 1 && (a % 2 == 0))
				tied++;
			else
				bad++;
		}
	}
	if (bad || tied != ntie)
		FAIL("act q8_0 vs gguf: %lld bad, %lld ties (want %lld)", (long long)bad, (long long)tied,
		     (long long)ntie);
	printf("# q8_0 vs gguf.quants.quantize: %lld equal, %lld ties rounded to even, %lld bad\n",
	       (long long)same, (long long)tied, (long long)bad);
	/* every ISA's internal quantizer gives the reference bytes */
	for (int kind = QK_ACT_F16; kind < QK_ACT_KINDS; kind++) {
		qk_act a;
		size_t n = qk_act_layout(&a, kind, 1, k);
		uint8_t *r0 = calloc(1, n), *r1 = calloc(1, n);
		qk_isa_table(QK_ISA_REF)->quant[kind](x, &a, r0);
		for (int s = 1; s < QK_ISA_COUNT; s++) {
			const qk_isa *isa = qk_isa_table(s);
			if (!isa)
				continue;
			memset(r1, 0, n);
			isa->quant[kind](x, &a, r1);
			if (memcmp(r0, r1, n))
				FAIL("act kind %d: %s quantizer differs from ref", kind, isa->name);
		}
		free(r0), free(r1);
	}
	printf("# activation quantizers of every ISA equal the reference\n");
	free(x), free(got), free(f);
}

static void cmd_mm(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		size_t len;
		uint8_t *f = slurp(argv[i], &len);
		if (len < 20 || memcmp(f, "QKMM", 4)) {
			FAIL("%s: not a QKMM fixture", argv[i]);
			continue;
		}
		qk_type t = (qk_type)i32(f + 4);
		int64_t m = i32(f + 8), n = i32(f + 12), k = i32(f + 16);
		size_t rb = qk_row_bytes(t, k);
		if (len != 20 + (size_t)m * rb + (size_t)(n * k + n * m) * 4) {
			FAIL("%s: size %zu", argv[i], len);
			continue;
		}
		const uint8_t *w = f + 20;
		float *x = malloc((size_t)(n * k) * 4), *ll = malloc((size_t)(n * m) * 4);
		float *y = malloc((size_t)(n * m) * 4);
		double *ex = malloc((size_t)(n * m) * 8), *bd = malloc((size_t)(n * m) * 8);
		double *lld = malloc((size_t)(n * m) * 8);
		memcpy(x, w + m * rb, (size_t)(n * k) * 4);
		memcpy(ll, w + m * rb + (size_t)(n * k) * 4, (size_t)(n * m) * 4);
		exact(t, w, m, k, x, n, ex, bd);
		for (int64_t j = 0; j < n * m; j++)
			lld[j] = ll[j];
		char what[96];
		snprintf(what, sizeof what, "llama.cpp %s vs float64", qk_type_name(t));
		check(what, ll, ex, bd, n * m);
		for (int s = 0; s < NISA; s++) {
			qk_backend *be = backend(isas[s], 2);
			if (!be)
				continue;
			if (matmul(be, t, w, m, k, x, n, y) == 0) {
				snprintf(what, sizeof what, "%s %s vs llama.cpp", qk_type_name(t), isas[s]);
				check(what, y, lld, bd, n * m);
				snprintf(what, sizeof what, "%s %s vs float64", qk_type_name(t), isas[s]);
				check(what, y, ex, bd, n * m);
			}
			qk_backend_free(be);
		}
		free(x), free(ll), free(y), free(ex), free(bd), free(lld), free(f);
	}
}

static const qk_type wtypes[] = {QK_F32, QK_F16, QK_BF16, QK_Q8_0, QK_Q4_0, QK_Q4_1, QK_Q4_K, QK_Q5_K, QK_Q6_K};
#define NWT (sizeof wtypes / sizeof wtypes[0])

/* Odd shapes: m, n not multiples of any unroll, k a few blocks (odd k for
 * the float types, whose "block" is one element), and m multiples of 16
 * (the r16 layout of the fast order) with 1, 9 and 37 tokens. */
static const int64_t shapes[][3] = {{1, 1, 1}, {3, 2, 8},  {17, 1, 17}, {67, 5, 7}, {9, 9, 9},
				    {130, 3, 2}, {16, 1, 3}, {48, 9, 17}, {160, 37, 5}};

static void shape_k(qk_type t, int64_t kb, int64_t *k)
{
	*k = qk_type_block(t) == 1 ? kb * 37 + (kb % 2) : kb * qk_type_block(t);
}

static void cmd_simd(void)
{
	qk_backend *be[NISA];
	for (int s = 0; s < NISA; s++)
		be[s] = backend(isas[s], 2);
	/* the fast order (QK_ORDER=fast) gives the reference's very bytes */
	const char *ord = getenv("QK_ORDER");
	int fast = ord && !strcmp(ord, "fast");
	for (size_t ti = 0; ti < NWT; ti++) {
		qk_type t = wtypes[ti];
		double worst[NISA] = {0};
		for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
			int64_t m = shapes[si][0], n = shapes[si][1], k;
			shape_k(t, shapes[si][2], &k);
			uint8_t *w = random_weights(t, m, k);
			float *x = malloc((size_t)(n * k) * 4), *y0 = malloc((size_t)(n * m) * 4);
			float *y = malloc((size_t)(n * m) * 4);
			double *ex = malloc((size_t)(n * m) * 8), *bd = malloc((size_t)(n * m) * 8);
			double *r = malloc((size_t)(n * m) * 8);
			for (int64_t j = 0; j < n * k; j++)
				x[j] = gauss() * (j % 7 == 0 ? 8.f : 1.f);
			exact(t, w, m, k, x, n, ex, bd);
			matmul(be[0], t, w, m, k, x, n, y0);
			for (int64_t j = 0; j < n * m; j++)
				r[j] = y0[j];
			char what[96];
			snprintf(what, sizeof what, "%s ref %lldx%lldx%lld vs float64", qk_type_name(t),
				 (long long)m, (long long)n, (long long)k);
			for (int64_t j = 0; j < n * m; j++) {
				double e = fabs(y0[j] - ex[j]) / bd[j];
				if (!(e <= 1))
					FAIL("%s: element %lld: %.9g want %.9g", what, (long long)j, (double)y0[j], ex[j]);
				worst[0] = e > worst[0] ? e : worst[0];
			}
			/* each SIMD ISA in llama.cpp's one-token orders and in its
			 * batched ones (a batch of n + 8: tiled, repacked, tinyBLAS) */
			int32_t *nbi = batch_info(n, (int32_t)n + 8, 0);
			for (int s = 1; s < NISA; s++)
				for (int batched = 0; batched < 2 && be[s]; batched++) {
					matmul_nb(be[s], t, w, m, k, x, n, y, batched ? nbi : NULL);
					for (int64_t j = 0; j < n * m; j++) {
						double e = fabs(y[j] - r[j]) / bd[j];
						if (fast && (t == QK_Q4_1 || t == QK_Q8_0) && y[j] != (float)r[j])
							FAIL("%s %s fast order %lldx%lldx%lld: element %lld: %.9g, ref %.9g (not identical)",
							     qk_type_name(t), isas[s], (long long)m, (long long)n, (long long)k, (long long)j,
							     (double)y[j], r[j]);
						if (!(e <= 1))
							FAIL("%s %s%s %lldx%lldx%lld: element %lld: %.9g, ref %.9g",
							     qk_type_name(t), isas[s], batched ? " batched" : "", (long long)m,
							     (long long)n, (long long)k, (long long)j, (double)y[j], r[j]);
						worst[s] = e > worst[s] ? e : worst[s];
					}
				}
			free(nbi);
			free(w), free(x), free(y0), free(y), free(ex), free(bd), free(r);
		}
		printf("# %-5s ref vs float64 %.3f", qk_type_name(t), worst[0]);
		for (int s = 1; s < NISA; s++)
			if (be[s])
				printf(", %s vs ref %.3f", isas[s], worst[s]);
		printf(" (max |err|/bound over %zu shapes)\n", sizeof shapes / sizeof shapes[0]);
	}
	for (int s = 0; s < NISA; s++)
		qk_backend_free(be[s]);
}

static void cmd_threads(void)
{
	for (int s = 0; s < NISA; s++) {
		qk_backend *be[3];
		for (int nt = 0; nt < 3; nt++)
			be[nt] = backend(isas[s], nt + 1);
		if (!be[0])
			continue;
		int same = 1;
		for (size_t ti = 0; ti < NWT * 4; ti++) {
			/* 7 tokens, then 37 (the AVX-512 tiles of 8 tokens and a
			 * remainder); 211 rows, then 208 (the r16 layout) */
			qk_type t = wtypes[ti % NWT];
			int64_t m = ti < 2 * NWT ? 211 : 208, n = ti % (2 * NWT) < NWT ? 7 : 37, k;
			shape_k(t, 17, &k);
			uint8_t *w = random_weights(t, m, k);
			float *x = malloc((size_t)(n * k) * 4), *y[3];
			for (int64_t j = 0; j < n * k; j++)
				x[j] = gauss();
			for (int nt = 0; nt < 3; nt++) {
				y[nt] = malloc((size_t)(n * m) * 4);
				matmul(be[nt], t, w, m, k, x, n, y[nt]);
			}
			if (memcmp(y[0], y[1], (size_t)(n * m) * 4) || memcmp(y[0], y[2], (size_t)(n * m) * 4)) {
				FAIL("%s %s: results differ between 1, 2 and 3 threads", isas[s], qk_type_name(t));
				same = 0;
			}
			/* batch invariance: each token alone gives its row of the batch,
			 * in the one-token orders and in the batched ones (the same
			 * batch size and index: a batch of n + 2 of which these are n) */
			for (int batched = 0; batched < 2; batched++) {
				int32_t *nbi = batch_info(n, (int)n + 2, 0);
				if (batched)
					matmul_nb(be[1], t, w, m, k, x, n, y[0], nbi);
				for (int64_t tk = 0; tk < n; tk++) {
					int32_t one[2] = {(int32_t)n + 2, (int32_t)tk};
					matmul_nb(be[1], t, w, m, k, x + tk * k, 1, y[2], batched ? one : NULL);
					if (memcmp(y[2], y[0] + tk * m, (size_t)m * 4)) {
						FAIL("%s %s%s: token %lld alone differs from the batch", isas[s],
						     qk_type_name(t), batched ? " batched" : "", (long long)tk);
						same = 0;
					}
				}
				free(nbi);
			}
			for (int nt = 0; nt < 3; nt++)
				free(y[nt]);
			free(w), free(x);
		}
		printf("# %s: matmul of all %zu types (7 and 37 tokens) identical with 1, 2, 3 threads and token by token: %s\n",
		       isas[s], NWT, same ? "yes" : "NO");
		for (int nt = 0; nt < 3; nt++)
			qk_backend_free(be[nt]);
	}
}

/* qk_matmul_n: several weights against one input (a run of one
 * activation kind, then others; packed and unpacked; one-token and batched
 * orders) give each weight's qk_matmul bytes; bad calls are refused. */
static void cmd_multi(void)
{
	static const struct {
		qk_type t;
		int64_t m;
	} sets[2][4] = {{{QK_Q4_1, 208}, {QK_Q4_1, 211}, {QK_Q8_0, 208}, {QK_Q4_K, 211}},
			{{QK_F32, 50}, {QK_Q6_K, 64}, {QK_BF16, 33}, {QK_Q4_0, 16}}};
	const int64_t k = 512, n = 37;
	float *x = malloc((size_t)(n * k) * 4);
	for (int64_t j = 0; j < n * k; j++)
		x[j] = gauss();
	int32_t *nbi = batch_info(n, (int32_t)n + 2, 0);
	for (int s = 0; s < NISA; s++) {
		qk_backend *be = backend(isas[s], 2);
		if (!be)
			continue;
		int same = 1;
		for (int si = 0; si < 2; si++)
			for (int nw = 1; nw <= 4; nw++)
				for (int batched = 0; batched < 2; batched++) {
					qk_tensor tw[4], ty[4], tx, tn;
					qk_tensor *yp[4];
					const qk_tensor *wp[4];
					uint8_t *w[4];
					if (qk_tensor_alloc(be, &tx, QK_F32, n, k) < 0 || qk_tensor_set(be, &tx, x, (size_t)(n * k) * 4) < 0 ||
					    qk_tensor_alloc(be, &tn, QK_I32, 2, n) < 0 || qk_tensor_set(be, &tn, nbi, (size_t)(2 * n) * 4) < 0) {
						FAIL("multi: %s", qk_errmsg());
						continue;
					}
					for (int i = 0; i < nw; i++) {
						int64_t m = sets[si][i].m;
						w[i] = random_weights(sets[si][i].t, m, k);
						if (qk_tensor_load(be, &tw[i], sets[si][i].t, m, k, w[i]) < 0 ||
						    qk_tensor_alloc(be, &ty[i], QK_F32, n, m) < 0)
							FAIL("multi: %s", qk_errmsg());
						yp[i] = &ty[i];
						wp[i] = &tw[i];
					}
					if (qk_matmul_n(be, nw, yp, &tx, wp, batched ? &tn : NULL) < 0)
						FAIL("multi %s: qk_matmul_n of %d: %s", isas[s], nw, qk_errmsg());
					for (int i = 0; i < nw; i++) {
						int64_t m = sets[si][i].m;
						float *got = malloc((size_t)(n * m) * 4), *want = malloc((size_t)(n * m) * 4);
						if (qk_tensor_get(be, &ty[i], got, (size_t)(n * m) * 4) < 0)
							FAIL("multi: %s", qk_errmsg());
						matmul_nb(be, sets[si][i].t, w[i], m, k, x, n, want, batched ? nbi : NULL);
						if (memcmp(got, want, (size_t)(n * m) * 4)) {
							FAIL("multi %s: weight %d of %d (%s, %lld rows)%s differs from its qk_matmul",
							     isas[s], i, nw, qk_type_name(sets[si][i].t), (long long)m,
							     batched ? " batched" : "");
							same = 0;
						}
						free(got), free(want), free(w[i]);
						qk_tensor_free(be, &tw[i]);
						qk_tensor_free(be, &ty[i]);
					}
					qk_tensor_free(be, &tx);
					qk_tensor_free(be, &tn);
				}
		printf("# %s: qk_matmul_n of 1-4 weights (mixed types, packed and not, batched and not) identical to qk_matmul: %s\n",
		       isas[s], same ? "yes" : "NO");
		qk_backend_free(be);
	}
	/* refused: no weights, too many, overlapping outputs, a width that does not match */
	qk_backend *be = backend("ref", 1);
	qk_tensor tx, tw, tw2, ty, tz;
	uint8_t *w = random_weights(QK_Q8_0, 32, k);
	if (qk_tensor_alloc(be, &tx, QK_F32, 2, k) < 0 || qk_tensor_load(be, &tw, QK_Q8_0, 32, k, w) < 0 ||
	    qk_tensor_load(be, &tw2, QK_Q8_0, 32, k / 2, w) < 0 || qk_tensor_alloc(be, &ty, QK_F32, 2, 32) < 0 ||
	    qk_tensor_alloc(be, &tz, QK_F32, 2, 32) < 0) {
		FAIL("multi: %s", qk_errmsg());
		exit(1);
	}
	qk_tensor *yy[5] = {&ty, &ty, &ty, &ty, &ty}, *yz[2] = {&ty, &tz};
	const qk_tensor *ww[5] = {&tw, &tw, &tw, &tw, &tw}, *w2[2] = {&tw, &tw2};
	static const struct {
		int n, overlap, narrow;
		const char *want;
	} bad[] = {{0, 0, 0, "matmul: 0 weights (1 to 4)"},
		   {5, 0, 0, "matmul: 5 weights (1 to 4)"},
		   {2, 1, 0, "matmul: outputs 0 and 1 overlap"},
		   {2, 0, 1, "matmul: input"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = qk_matmul_n(be, bad[i].n, bad[i].overlap ? yy : yz, &tx, bad[i].narrow ? w2 : ww, NULL);
		if (rc != -1 || strncmp(qk_errmsg(), bad[i].want, strlen(bad[i].want)))
			FAIL("multi: bad call %zu returned %d, \"%s\"; want -1, \"%s...\"", i, rc, qk_errmsg(),
			     bad[i].want);
		else
			printf("# refused: %s\n", qk_errmsg());
	}
	qk_tensor_free(be, &tx), qk_tensor_free(be, &tw), qk_tensor_free(be, &tw2);
	qk_tensor_free(be, &ty), qk_tensor_free(be, &tz);
	qk_backend_free(be);
	free(w), free(x), free(nbi);
}

/* ---------------------------------------------------------------- ops */

/* A tensor on be holding host floats (or int32 when type is I32). */
static qk_tensor host_tensor(qk_backend *be, qk_type type, int64_t rows, int64_t cols, const void *v)
{
	qk_tensor t;
	if (qk_tensor_alloc(be, &t, type, rows, cols) < 0 || qk_tensor_set(be, &t, v, (size_t)(rows * cols) * 4) < 0) {
		fprintf(stderr, "tensor: %s\n", qk_errmsg());
		exit(1);
	}
	return t;
}

static void get(qk_backend *be, const qk_tensor *t, float *v)
{
	if (qk_tensor_get(be, t, v, (size_t)(t->rows * t->cols) * 4) < 0) {
		fprintf(stderr, "tensor get: %s\n", qk_errmsg());
		exit(1);
	}
}

/* got vs want elementwise: |got - want| <= rel * |want| + abs (rel = abs =
 * 0: bit-identical).  Notes the worst error / bound. */
static void close_to(const char *what, const float *got, const double *want, int64_t n, double rel, double abs_)
{
	double worst = 0;
	for (int64_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]);
		double b = rel * fabs(want[i]) + abs_;
		if (b == 0 ? (float)want[i] != got[i] && !(got[i] != got[i] && want[i] != want[i]) : !(e <= b)) {
			FAIL("%s: element %lld is %.9g, want %.9g", what, (long long)i, (double)got[i], want[i]);
			return;
		}
		if (b > 0 && e / b > worst)
			worst = e / b;
	}
	if (rel == 0 && abs_ == 0)
		printf("# %-44s bit-identical\n", what);
	else
		printf("# %-44s max |err|/bound %.3f\n", what, worst);
}

static void ops_rmsnorm(qk_backend *be[NISA])
{
	static const int64_t dims[] = {1, 7, 576, 1001};
	for (size_t di = 0; di < 4; di++) {
		int64_t d = dims[di], n = 3;
		float *x = malloc((size_t)(n * d) * 4), *g = malloc((size_t)d * 4), *y = malloc((size_t)(n * d) * 4);
		double *w = malloc((size_t)(n * d) * 8), *r = malloc((size_t)(n * d) * 8);
		for (int64_t i = 0; i < n * d; i++)
			x[i] = gauss() * (i % 5 ? 1.f : 30.f);
		for (int64_t i = 0; i < d; i++)
			g[i] = 1 + gauss() * 0.1f;
		float eps = 1e-5f;
		for (int64_t t = 0; t < n; t++) {
			double ss = 0;
			for (int64_t i = 0; i < d; i++)
				ss += (double)x[t * d + i] * x[t * d + i];
			double sc = 1 / sqrt(ss / (double)d + eps);
			for (int64_t i = 0; i < d; i++)
				w[t * d + i] = x[t * d + i] * sc * g[i];
		}
		char what[96];
		for (int s = 0; s < NISA; s++) {
			if (!be[s])
				continue;
			qk_tensor tx = host_tensor(be[s], QK_F32, n, d, x), tg = host_tensor(be[s], QK_F32, 1, d, g);
			if (qk_rmsnorm(be[s], &tx, &tx, &tg, eps) < 0)
				FAIL("rmsnorm: %s", qk_errmsg());
			get(be[s], &tx, y);
			if (s == 0) {
				snprintf(what, sizeof what, "rmsnorm ref d=%lld vs float64", (long long)d);
				close_to(what, y, w, n * d, 1e-6, 1e-30);
				for (int64_t i = 0; i < n * d; i++)
					r[i] = y[i];
			} else {
				snprintf(what, sizeof what, "rmsnorm %s d=%lld vs ref", isas[s], (long long)d);
				close_to(what, y, r, n * d, 3e-7, 1e-30);
			}
			qk_tensor_free(be[s], &tx), qk_tensor_free(be[s], &tg);
		}
		free(x), free(g), free(y), free(w), free(r);
	}
}

static void ops_silu_softmax_add(qk_backend *be[NISA])
{
	static const int64_t dims[] = {1, 13, 100, 1536, 4097};
	for (size_t di = 0; di < 5; di++) {
		int64_t d = dims[di], n = 2;
		float *a = malloc((size_t)(n * d) * 4), *b = malloc((size_t)(n * d) * 4), *y = malloc((size_t)(n * d) * 4);
		double *ws = malloc((size_t)(n * d) * 8), *wm = malloc((size_t)(n * d) * 8), *wa = malloc((size_t)(n * d) * 8);
		double *rs = malloc((size_t)(n * d) * 8), *rm = malloc((size_t)(n * d) * 8);
		for (int64_t i = 0; i < n * d; i++) {
			a[i] = gauss() * 4;
			b[i] = gauss();
		}
		a[0] = -100.f;  /* exp overflows in silu: the result is (-)0 */
		if (d > 3)
			a[3] = 95.f;
		float scale = 0.125f;
		double amax = 0;  /* softmax: float rounding of x*scale - max */
		for (int64_t i = 0; i < n * d; i++)
			amax = fmax(amax, fabs((double)a[i] * scale));
		double smrel = (2 * amax + 4) * 0x1p-23;
		for (int64_t t = 0; t < n; t++) {
			double max = -INFINITY, sum = 0;
			for (int64_t i = 0; i < d; i++)
				max = fmax(max, (double)a[t * d + i] * scale);
			for (int64_t i = 0; i < d; i++)
				sum += exp((double)a[t * d + i] * scale - max);
			for (int64_t i = 0; i < d; i++) {
				int64_t j = t * d + i;
				ws[j] = (double)a[j] / (1 + exp(-(double)a[j])) * b[j];
				wm[j] = exp((double)a[j] * scale - max) / sum;
				wa[j] = (float)((double)a[j] + b[j]);
			}
		}
		char what[96];
		for (int s = 0; s < NISA; s++) {
			if (!be[s])
				continue;
			qk_tensor ta = host_tensor(be[s], QK_F32, n, d, a), tb = host_tensor(be[s], QK_F32, n, d, b);
			qk_tensor ty;
			qk_tensor_alloc(be[s], &ty, QK_F32, n, d);
			if (qk_silu_mul(be[s], &ty, &ta, &tb) < 0)
				FAIL("silu_mul: %s", qk_errmsg());
			get(be[s], &ty, y);
			snprintf(what, sizeof what, "silu*mul %s d=%lld vs %s", isas[s], (long long)d, s ? "ref" : "float64");
			close_to(what, y, s ? rs : ws, n * d, s ? 1e-6 : 5e-7, 1e-30);
			if (s == 0)
				for (int64_t i = 0; i < n * d; i++)
					rs[i] = y[i];
			if (qk_softmax(be[s], &ty, &ta, scale) < 0)
				FAIL("softmax: %s", qk_errmsg());
			get(be[s], &ty, y);
			snprintf(what, sizeof what, "softmax %s d=%lld vs %s", isas[s], (long long)d, s ? "ref" : "float64");
			close_to(what, y, s ? rm : wm, n * d, s ? 1e-6 : smrel, 1e-30);
			if (s == 0)
				for (int64_t i = 0; i < n * d; i++)
					rm[i] = y[i];
			if (qk_add(be[s], &ta, &ta, &tb) < 0)
				FAIL("add: %s", qk_errmsg());
			get(be[s], &ta, y);
			snprintf(what, sizeof what, "add %s d=%lld vs float64", isas[s], (long long)d);
			close_to(what, y, wa, n * d, 0, 0);
			qk_tensor_free(be[s], &ta), qk_tensor_free(be[s], &tb), qk_tensor_free(be[s], &ty);
		}
		free(a), free(b), free(y), free(ws), free(wm), free(wa), free(rs), free(rm);
	}
}

/* Rope against the definition in float64 (angle pos * base^(-2i/n_rot) /
 * factor * freq_scale, Llama 3 factors per the HF formula), bounded by the
 * error of ggml's float angle recurrence (i+3 roundings of theta); every
 * ISA bit-identical to the reference. */
static void ops_rope(qk_backend *be[NISA])
{
	static const int32_t pos[] = {0, 1, 17, 1000, 8191};
	int np = 5, n_head = 3;
	for (int cfg = 0; cfg < 6; cfg++) {
		qk_rope p = {.n_head = n_head, .head_dim = 64, .n_rot = cfg % 3 == 2 ? 32 : 64, .neox = cfg % 2,
			     .freq_base = cfg < 3 ? 10000.f : 500000.f, .freq_scale = cfg == 1 ? 0.25f : 1.f,
			     .llama3 = cfg >= 3, .l3_factor = 8, .l3_low_freq_factor = 1, .l3_high_freq_factor = 4,
			     .l3_orig_ctx = 8192};
		int64_t d = (int64_t)n_head * p.head_dim;
		float *x = malloc((size_t)(np * d) * 4), *y = malloc((size_t)(np * d) * 4);
		double *w = malloc((size_t)(np * d) * 8), *bd = malloc((size_t)(np * d) * 8), *r = malloc((size_t)(np * d) * 8);
		for (int64_t i = 0; i < np * d; i++)
			x[i] = gauss();
		int half = p.n_rot / 2;
		for (int t = 0; t < np; t++)
			for (int h = 0; h < n_head; h++) {
				const float *xh = x + t * d + h * p.head_dim;
				double *wh = w + t * d + h * p.head_dim, *bh = bd + t * d + h * p.head_dim;
				for (int i = 0; i < p.head_dim; i++) {
					wh[i] = xh[i];
					bh[i] = 0;
				}
				for (int i = 0; i < half; i++) {
					double freq = pow(p.freq_base, -2.0 * i / p.n_rot), ff = 1;
					if (p.llama3) {
						double wl = 2 * M_PI / freq, lo = 8192 / 1.0, hi = 8192 / 4.0;
						if (wl > lo)
							ff = 8;
						else if (wl >= hi) {
							double sm = (8192 / wl - 1) / (4 - 1);
							ff = 1 / ((1 - sm) / 8 + sm);
						}
					}
					double th = pos[t] * freq / ff * p.freq_scale;
					int i0 = p.neox ? i : 2 * i, i1 = p.neox ? i + half : 2 * i + 1;
					double x0 = xh[i0], x1 = xh[i1];
					wh[i0] = x0 * cos(th) - x1 * sin(th);
					wh[i1] = x0 * sin(th) + x1 * cos(th);
					double e = (fabs(x0) + fabs(x1)) * (fabs(th) * (i + 3) * 0x1p-23 + 1e-6);
					bh[i0] = bh[i1] = e;
				}
			}
		char what[96];
		for (int s = 0; s < NISA; s++) {
			if (!be[s])
				continue;
			qk_tensor tx = host_tensor(be[s], QK_F32, np, d, x), tp = host_tensor(be[s], QK_I32, 1, np, pos);
			if (qk_rope_apply(be[s], &tx, &tp, &p) < 0)
				FAIL("rope: %s", qk_errmsg());
			get(be[s], &tx, y);
			snprintf(what, sizeof what, "rope %s n_rot=%d %s%s%s", isas[s], p.n_rot, p.neox ? "neox" : "normal",
				 p.llama3 ? " llama3" : "", p.freq_scale != 1 ? " linear" : "");
			if (s == 0) {
				double worst = 0;
				for (int64_t i = 0; i < np * d; i++) {
					double e = fabs(y[i] - w[i]);
					if (bd[i] == 0 ? e != 0 : !(e <= bd[i]))
						FAIL("%s: element %lld is %.9g, want %.9g", what, (long long)i, (double)y[i], w[i]);
					else if (bd[i] > 0 && e / bd[i] > worst)
						worst = e / bd[i];
					r[i] = y[i];
				}
				printf("# %-44s max |err|/bound %.3f vs float64\n", what, worst);
			} else {
				close_to(what, y, r, np * d, 0, 0);
			}
			qk_tensor_free(be[s], &tx), qk_tensor_free(be[s], &tp);
		}
		free(x), free(y), free(w), free(bd), free(r);
	}
}

static void ops_argmax(qk_backend *be[NISA])
{
	static const int64_t dims[] = {1, 9, 33, 49152};
	for (size_t di = 0; di < 4; di++) {
		int64_t d = dims[di], n = 5;
		float *x = malloc((size_t)(n * d) * 4);
		int32_t want[5], got[5];
		for (int64_t i = 0; i < n * d; i++)
			x[i] = (float)(rnd() % 1000);
		for (int t = 0; t < n; t++) {
			float *r = x + t * d;
			if (t == 1 && d > 1)  /* NaN first: never wins */
				r[0] = NAN;
			if (t == 2 && d > 4)  /* a tie: the first wins */
				r[d / 2] = r[d - 1] = 5000;
			if (t == 3)           /* all NaN: index 0 */
				for (int64_t i = 0; i < d; i++)
					r[i] = NAN;
			if (t == 4 && d > 8)  /* -inf and NaN only, then one finite */
				for (int64_t i = 0; i < d; i++)
					r[i] = i == d - 2 ? -1e30f : i % 2 ? NAN : -INFINITY;
			int32_t b = 0;
			for (int64_t i = 0; i < d; i++)
				if (r[i] == r[i] && (r[b] != r[b] || r[i] > r[b]))
					b = (int32_t)i;
			want[t] = b;
		}
		for (int s = 0; s < NISA; s++) {
			if (!be[s])
				continue;
			qk_tensor tx = host_tensor(be[s], QK_F32, n, d, x);
			if (qk_argmax(be[s], &tx, got) < 0)
				FAIL("argmax: %s", qk_errmsg());
			for (int t = 0; t < n; t++)
				if (got[t] != want[t])
					FAIL("argmax %s d=%lld row %d: %d, want %d", isas[s], (long long)d, t, got[t], want[t]);
			qk_tensor_free(be[s], &tx);
		}
		printf("# argmax d=%lld (NaN, ties, all-NaN, -inf rows) on every ISA\n", (long long)d);
		free(x);
	}
}

/* kv store into F16 caches: every ISA's rows hold exactly qk_fp32_to_fp16
 * of the input (rounding ties, overflow, subnormals, NaNs of both signs),
 * for widths with and without a tail shorter than a vector; F32 caches
 * the floats themselves. */
static void ops_kv_store(qk_backend *be[NISA])
{
	static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 65536.0f,
					1e-8f, -1e-8f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-14f, 0x1.ffcp-15f,
					1.00048828125f, 1.00146484375f, INFINITY, -INFINITY};
	static const int64_t widths[] = {1, 16, 37, 64, 200};
	enum { N = 5, ROWS = 12 };
	const int32_t slots[N] = {7, 0, 11, 3, 5};
	for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
		int64_t d = widths[wi];
		float *x = malloc((size_t)(N * d) * 4);
		for (int64_t i = 0; i < N * d; i++) {
			int64_t r = (int64_t)(rnd() % 4);
			x[i] = r == 0 ? special[rnd() % (sizeof special / sizeof special[0])]
			     : r == 1 ? gauss() * 1e-6f : gauss() * 40;
		}
		x[(N * d) / 2] = qk_f32_bits(0x7ff01234u); /* NaNs with payloads, both signs */
		x[N * d - 1] = qk_f32_bits(0xffa00001u);
		for (int s = 0; s < NISA; s++) {
			if (!be[s])
				continue;
			for (int ct = 0; ct < 2; ct++) {
				qk_type type = ct ? QK_F32 : QK_F16;
				qk_tensor kc, vc, tk, tv, ts;
				size_t eb = ct ? 4 : 2;
				uint8_t *got = calloc((size_t)(ROWS * d), eb), *want = calloc((size_t)(ROWS * d), eb);
				if (qk_tensor_alloc(be[s], &kc, type, ROWS, d) < 0 || qk_tensor_alloc(be[s], &vc, type, ROWS, d) < 0)
					FAIL("kv store: %s", qk_errmsg());
				tk = host_tensor(be[s], QK_F32, N, d, x);
				tv = host_tensor(be[s], QK_F32, N, d, x);
				ts = host_tensor(be[s], QK_I32, 1, N, slots);
				for (int t = 0; t < N; t++)
					for (int64_t i = 0; i < d; i++) {
						uint8_t *w = want + ((size_t)slots[t] * (size_t)d + (size_t)i) * eb;
						if (ct)
							memcpy(w, &x[t * d + i], 4);
						else {
							uint16_t h = qk_fp32_to_fp16(x[t * d + i]);
							memcpy(w, &h, 2);
						}
					}
				int ok = qk_kv_store(be[s], &kc, &vc, &tk, &tv, &ts) == 0;
				for (int c = 0; c < 2 && ok; c++)
					if (qk_tensor_get(be[s], c ? &vc : &kc, got, (size_t)(ROWS * d) * eb) < 0 ||
					    memcmp(got, want, (size_t)(ROWS * d) * eb))
						ok = 0;
				if (!ok)
					FAIL("kv store %s %s d=%lld: the cache rows differ from qk_fp32_to_fp16 of the input",
					     isas[s], qk_type_name(type), (long long)d);
				else
					printf("# kv store %s %s d=%lld: the rows of qk_fp32_to_fp16, bit-identical\n",
					       isas[s], qk_type_name(type), (long long)d);
				qk_tensor *all[] = {&kc, &vc, &tk, &tv, &ts};
				for (size_t i = 0; i < 5; i++)
					qk_tensor_free(be[s], all[i]);
				free(got), free(want);
			}
		}
		free(x);
	}
}

static void cmd_ops(void)
{
	qk_backend *be[NISA];
	for (int s = 0; s < NISA; s++)
		be[s] = backend(isas[s], 2);
	ops_rmsnorm(be);
	ops_silu_softmax_add(be);
	ops_rope(be);
	ops_argmax(be);
	ops_kv_store(be);
	for (int s = 0; s < NISA; s++)
		qk_backend_free(be[s]);
}

/* ---------------------------------------------------------- attention */

/* One paged-attention case: 3 sequences with shuffled blocks, a batch that
 * mixes a decode token, a prefill chunk behind history, and a prefill from
 * position 0; every ISA against a float64 computation over the logical
 * (sequence, position) rows, and the reference against each SIMD path. */
static void attn_case(qk_backend *be[NISA], qk_type ct, int n_head, int n_kv, int hd)
{
	enum { NSEQ = 3, BS = 16, NBLK = 20, MAXB = 6 };
	static const int len[NSEQ] = {37, 70, 5};          /* positions stored */
	static const int first[NSEQ] = {36, 60, 0};        /* batch: first..len-1 */
	int64_t wkv = (int64_t)n_kv * hd, w = (int64_t)n_head * hd;
	int32_t bt[NSEQ][MAXB], perm[NBLK];
	for (int i = 0; i < NBLK; i++)
		perm[i] = i;
	for (int i = NBLK - 1; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1)), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	int used = 0;
	for (int sq = 0; sq < NSEQ; sq++)
		for (int b = 0; b < MAXB; b++)
			bt[sq][b] = b * BS < len[sq] ? perm[used++] : -1;
	/* all stored k/v rows, by (sequence, position) */
	int64_t nkv = 0;
	for (int sq = 0; sq < NSEQ; sq++)
		nkv += len[sq];
	float *kk = malloc((size_t)(nkv * wkv) * 4), *vv = malloc((size_t)(nkv * wkv) * 4);
	int32_t *slot = malloc((size_t)nkv * 4);
	int64_t base[NSEQ], r = 0;
	for (int sq = 0; sq < NSEQ; sq++) {
		base[sq] = r;
		for (int ps = 0; ps < len[sq]; ps++, r++)
			slot[r] = bt[sq][ps / BS] * BS + ps % BS;
	}
	for (int64_t i = 0; i < nkv * wkv; i++) {
		kk[i] = gauss();
		vv[i] = gauss();
	}
	int64_t n = 0;
	int32_t tpos[128], tseq[128];
	for (int sq = 0; sq < NSEQ; sq++)
		for (int ps = first[sq]; ps < len[sq]; ps++, n++) {
			tpos[n] = ps;
			tseq[n] = sq;
		}
	float *q = malloc((size_t)(n * w) * 4), *y = malloc((size_t)(n * w) * 4);
	for (int64_t i = 0; i < n * w; i++)
		q[i] = gauss();
	double *want = malloc((size_t)(n * w) * 8), *bound = malloc((size_t)(n * w) * 8), *ref = malloc((size_t)(n * w) * 8);
	float scale = 1 / sqrtf((float)hd);
	int f16 = ct == QK_F16;
#define RND(x) (f16 ? qk_fp16_to_fp32(qk_fp32_to_fp16(x)) : (x))
	for (int64_t t = 0; t < n; t++)
		for (int h = 0; h < n_head; h++) {
			int kvh = h / (n_head / n_kv), m = tpos[t] + 1;
			const float *qh = q + t * w + h * hd;
			double *s = malloc((size_t)m * 8), mx = -INFINITY, sum = 0, es = 0;
			for (int j = 0; j < m; j++) {
				const float *kr = kk + (base[tseq[t]] + j) * wkv + kvh * hd;
				double d = 0, mag = 0;
				for (int e = 0; e < hd; e++) {
					d += (double)RND(qh[e]) * RND(kr[e]);
					mag += fabs((double)RND(qh[e]) * RND(kr[e]));
				}
				s[j] = d * scale;
				mx = fmax(mx, s[j]);
				es = fmax(es, 2 * (hd + 4) * 0x1p-24 * mag * scale + 4 * 0x1p-24 * fabs(s[j]));
			}
			for (int j = 0; j < m; j++)
				sum += exp(s[j] - mx);
			for (int e = 0; e < hd; e++) {
				double o = 0, mag = 0, vmax = 0;
				for (int j = 0; j < m; j++) {
					double pj = exp(s[j] - mx) / sum, v = RND(vv[(base[tseq[t]] + j) * wkv + kvh * hd + e]);
					o += pj * v;
					mag += pj * fabs(v);
					vmax = fmax(vmax, fabs(v));
				}
				want[t * w + h * hd + e] = o;
				/* F16 cache: ggml (and the AVX-512 kernel, which follows
				 * it) rounds each p_j to half before the V product:
				 * relative 2^-11, absolute 2^-25 below the normal range */
				bound[t * w + h * hd + e] = mag * (4 * es + (m + 8) * 0x1p-23) +
							    (f16 ? mag * 0x1p-11 + m * 0x1p-25 * vmax : 0) + 1e-30;
			}
			free(s);
		}
#undef RND
	char what[96];
	for (int si = 0; si < NISA; si++) {
		if (!be[si])
			continue;
		qk_backend *b = be[si];
		qk_tensor kc, vc, tk, tv, ts, tq, to, tp, tsq, tbt;
		qk_tensor_alloc(b, &kc, ct, NBLK * BS, wkv);
		qk_tensor_alloc(b, &vc, ct, NBLK * BS, wkv);
		tk = host_tensor(b, QK_F32, nkv, wkv, kk);
		tv = host_tensor(b, QK_F32, nkv, wkv, vv);
		ts = host_tensor(b, QK_I32, 1, nkv, slot);
		tq = host_tensor(b, QK_F32, n, w, q);
		tp = host_tensor(b, QK_I32, 1, n, tpos);
		tsq = host_tensor(b, QK_I32, 1, n, tseq);
		tbt = host_tensor(b, QK_I32, NSEQ, MAXB, bt);
		qk_tensor_alloc(b, &to, QK_F32, n, w);
		qk_attn p = {.n_head = n_head, .n_kv_head = n_kv, .head_dim = hd, .block_size = BS, .scale = scale};
		if (qk_kv_store(b, &kc, &vc, &tk, &tv, &ts) < 0 || qk_attention(b, &to, &tq, &kc, &vc, &tp, &tsq, &tbt, NULL, &p) < 0)
			FAIL("attention %s: %s", isas[si], qk_errmsg());
		get(b, &to, y);
		snprintf(what, sizeof what, "attention %s %s %d/%d heads hd %d vs float64", isas[si], qk_type_name(ct),
			 n_head, n_kv, hd);
		check(what, y, want, bound, n * w);
		if (si == 0)
			for (int64_t i = 0; i < n * w; i++)
				ref[i] = y[i];
		else {
			snprintf(what, sizeof what, "attention %s %s %d/%d heads hd %d vs ref", isas[si],
				 qk_type_name(ct), n_head, n_kv, hd);
			check(what, y, ref, bound, n * w);
		}
		/* bad inputs fail cleanly */
		int32_t bad = NBLK;
		int32_t save = bt[1][2];
		bt[1][2] = bad;
		if (qk_tensor_set(b, &tbt, bt, sizeof bt) < 0 ||
		    qk_attention(b, &to, &tq, &kc, &vc, &tp, &tsq, &tbt, NULL, &p) != -1 || !strstr(qk_errmsg(), "outside"))
			FAIL("attention %s: a block id outside the cache was accepted", isas[si]);
		bt[1][2] = save;
		qk_tensor_set(b, &tbt, bt, sizeof bt);
		int32_t save_pos = tpos[n - 1];
		tpos[n - 1] = MAXB * BS;
		if (qk_tensor_set(b, &tp, tpos, (size_t)n * 4) < 0 ||
		    qk_attention(b, &to, &tq, &kc, &vc, &tp, &tsq, &tbt, NULL, &p) != -1 || !strstr(qk_errmsg(), "beyond"))
			FAIL("attention %s: a position beyond the block table was accepted", isas[si]);
		tpos[n - 1] = save_pos;
		int32_t save_slot = slot[3];
		slot[3] = NBLK * BS;
		if (qk_tensor_set(b, &ts, slot, (size_t)nkv * 4) < 0 ||
		    qk_kv_store(b, &kc, &vc, &tk, &tv, &ts) != -1 || !strstr(qk_errmsg(), "outside"))
			FAIL("kv store %s: a slot outside the cache was accepted", isas[si]);
		slot[3] = save_slot;
		qk_tensor *all[] = {&kc, &vc, &tk, &tv, &ts, &tq, &to, &tp, &tsq, &tbt};
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
			qk_tensor_free(b, all[i]);
	}
	free(kk), free(vv), free(slot), free(q), free(y), free(want), free(bound), free(ref);
}

/* One GQA group through isa->attn_group against its heads one by one
 * through isa->attn_head (q rounded to half first for F16, as the caller
 * of attn_head does): the bytes must be the same.  The two calls get
 * scratch filled with different garbage. */
static int group_vs_heads(const qk_isa *isa, int f16, int batched, int hd, int g, int64_t n, const float *q,
			  const uint8_t *k, const uint8_t *v, size_t stride, const int64_t *rows, float *scr, float *og,
			  float *oh)
{
	int mode = (f16 ? QK_ATT_F16 : 0) | (batched ? QK_ATT_BATCH : 0);
	int64_t np = (n + 63) & ~(int64_t)63;
	size_t scn = (size_t)g * (size_t)(np + 65 * hd);
	float qh[8 * 128];
	memset(scr, 0x7f, scn * 4);
	isa->attn_group(og, q, g, k, v, stride, rows, n, hd, mode, 1 / sqrtf((float)hd), scr);
	for (int h = 0; h < g; h++) {
		for (int d = 0; d < hd; d++) {
			float x = q[h * hd + d];
			qh[d] = f16 ? qk_fp16_to_fp32(qk_fp32_to_fp16(x)) : x;
		}
		memset(scr, 0xa5, scn * 4);
		isa->attn_head(oh + h * hd, qh, k, v, stride, rows, n, hd, mode, 1 / sqrtf((float)hd), scr);
	}
	return memcmp(og, oh, (size_t)g * hd * 4) == 0;
}

/* attn_group on every ISA: GQA ratios 1, 2, 3, 4 (and 5, 8: more than
 * the heads run together), odd sequence lengths around the vector, block
 * and slot widths, head sizes taking each of its paths (q in registers,
 * q from memory, one position at a time, the reference), F32 and F16
 * caches, decode and batched orders; then q with half rounding's edge
 * cases (NaN, overflow, subnormal, ties). */
static void attn_groups(void)
{
	enum { NROW = 160, MAXHD = 128, MAXG = 8 };
	static const int hds[] = {20, 32, 40, 48, 64, 128}, gs[] = {1, 2, 3, 4, 5, 8};
	static const int64_t ns[] = {1, 3, 15, 16, 17, 31, 47, 63, 64, 65, 97, 130};
	size_t stride = 2 * MAXHD * 4 + 64; /* two KV heads of F32, then padding */
	uint8_t *kc = malloc(NROW * stride), *vc = malloc(NROW * stride);
	int64_t rows[NROW];
	float *q = malloc(MAXG * MAXHD * 4), *og = malloc(MAXG * MAXHD * 4), *oh = malloc(MAXG * MAXHD * 4);
	float *scr = malloc((size_t)MAXG * (192 + 65 * MAXHD) * 4);
	for (int i = 0; i < NROW; i++)
		rows[i] = i;
	for (int i = NROW - 1; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1));
		int64_t t = rows[i];
		rows[i] = rows[j];
		rows[j] = t;
	}
	long cases = 0;
	for (int s = 0; s < NISA; s++) {
		const qk_isa *isa = qk_isa_table(s);
		if (!isa)
			continue;
		for (int f16 = 0; f16 < 2; f16++) {
			/* the second KV head of each row, F32 or F16 */
			size_t es = f16 ? 2 : 4;
			for (int r = 0; r < NROW; r++)
				for (int d = 0; d < 2 * MAXHD; d++) {
					float kx = gauss(), vx = gauss();
					if (f16) {
						uint16_t hk = qk_fp32_to_fp16(kx), hv = qk_fp32_to_fp16(vx);
						memcpy(kc + r * stride + 2 * d, &hk, 2);
						memcpy(vc + r * stride + 2 * d, &hv, 2);
					} else {
						memcpy(kc + r * stride + 4 * d, &kx, 4);
						memcpy(vc + r * stride + 4 * d, &vx, 4);
					}
				}
			for (int batched = 0; batched < 2; batched++)
				for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
					for (size_t b = 0; b < sizeof gs / sizeof gs[0]; b++)
						for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
							int hd = hds[a], g = gs[b];
							const uint8_t *k = kc + hd * es, *v = vc + hd * es;
							for (int i = 0; i < g * hd; i++)
								q[i] = gauss();
							cases++;
							if (!group_vs_heads(isa, f16, batched, hd, g, ns[c], q, k, v, stride,
									    rows, scr, og, oh))
								FAIL("attention group %s %s %s hd %d, %d heads, %lld positions: "
								     "not the bytes of its heads one by one", isas[s],
								     f16 ? "f16" : "f32", batched ? "batched" : "decode", hd, g,
								     (long long)ns[c]);
						}
			if (!f16)
				continue;
			/* head 1: NaN, infinity, beyond half's range; head 2:
			 * half subnormals, a tie, -0 */
			static const float edge1[] = {NAN, -NAN, INFINITY, 70000.0f, 65520.0f};
			static const float edge2[] = {1e-6f, 6e-8f, -3e-8f, 2049.0f, -0.0f, 65504.0f, 0x1.002p0f};
			for (int batched = 0; batched < 2; batched++) {
				int hd = 64, g = 3;
				for (int i = 0; i < g * hd; i++)
					q[i] = gauss();
				memcpy(q + hd, edge1, sizeof edge1);
				q[hd + 8] = qk_f32_bits(0x7fa00001); /* signalling, with a payload */
				q[hd + 9] = qk_f32_bits(0xffc0f000);
				memcpy(q + 2 * hd + 10, edge2, sizeof edge2);
				cases++;
				if (!group_vs_heads(isa, 1, batched, hd, g, 37, q, kc + hd * 2, vc + hd * 2, stride, rows, scr,
						    og, oh))
					FAIL("attention group %s f16 %s: q with half's edge cases: not the bytes of its "
					     "heads one by one", isas[s], batched ? "batched" : "decode");
			}
		}
	}
	printf("# attention groups: %ld cases, GQA 1-8, grouped == per-head bytes on every ISA\n", cases);
	free(kc), free(vc), free(q), free(og), free(oh), free(scr);
}

static void cmd_attn(void)
{
	qk_backend *be[NISA];
	for (int s = 0; s < NISA; s++)
		be[s] = backend(isas[s], 2);
	attn_case(be, QK_F32, 6, 2, 64);
	attn_case(be, QK_F16, 6, 2, 64);
	attn_case(be, QK_F32, 4, 4, 48);
	attn_case(be, QK_F16, 9, 3, 64);
	attn_case(be, QK_F16, 8, 2, 64);
	attn_groups();
	printf("# bad block ids, positions and slots are refused on every ISA\n");
	for (int s = 0; s < NISA; s++)
		qk_backend_free(be[s]);
}

/* The ISA and thread count qk_cpu_new(0, NULL) picks (QK_ISA decides). */
static int cmd_info(void)
{
	qk_backend *be = qk_cpu_new(0, NULL);
	if (!be) {
		fprintf(stderr, "qk-test: %s\n", qk_errmsg());
		return 1;
	}
	printf("%s %d\n", qk_cpu_isa(be), qk_cpu_threads(be));
	qk_backend_free(be);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median time of one matmul y[n][m] = x[n][k] . w^T, repeated for about
 * budget seconds (at least 5 times) after one warm-up run. */
static double time_matmul(qk_backend *be, qk_type t, int64_t m, int64_t k, int64_t n, double budget)
{
	uint8_t *w = random_weights(t, m, k);
	float *x = malloc((size_t)(n * k) * 4);
	for (int64_t j = 0; j < n * k; j++)
		x[j] = gauss();
	qk_tensor tw, tx, ty;
	if (qk_tensor_load(be, &tw, t, m, k, w) < 0 || qk_tensor_alloc(be, &tx, QK_F32, n, k) < 0 ||
	    qk_tensor_alloc(be, &ty, QK_F32, n, m) < 0 || qk_tensor_set(be, &tx, x, (size_t)(n * k) * 4) < 0) {
		FAIL("bench: %s", qk_errmsg());
		return 0;
	}
	double times[1000];
	int runs = 0;
	double start = now();
	qk_matmul(be, &ty, &tx, &tw, NULL);
	while (runs < 1000 && (runs < 5 || now() - start < budget)) {
		double t0 = now();
		qk_matmul(be, &ty, &tx, &tw, NULL);
		times[runs++] = now() - t0;
	}
	qsort(times, (size_t)runs, sizeof *times, cmp_double);
	qk_tensor_free(be, &tw), qk_tensor_free(be, &tx), qk_tensor_free(be, &ty);
	free(w), free(x);
	return times[runs / 2];
}

static void cmd_bench(int argc, char **argv)
{
	int nth = 2;
	int64_t n = 1;
	double budget = 0.2;
	qk_type only[NWT];
	size_t nonly = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			nth = atoi(argv[++i]);
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = atoll(argv[++i]);
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			budget = atof(argv[++i]);
		else if (qk_type_parse(argv[i]) >= 0 && nonly < NWT)
			only[nonly++] = (qk_type)qk_type_parse(argv[i]);
		else {
			FAIL("bench: bad argument %s", argv[i]);
			return;
		}
	}
	static const int64_t mk[][2] = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
	printf("# matmul y[n][m] = x[n][k] . W[m][k]^T, n = %lld, %d threads, median time\n", (long long)n, nth);
	printf("%-5s %-6s %11s %9s %9s %9s\n", "type", "isa", "m x k", "usec", "GFLOP/s", "GB/s W");
	for (size_t ti = 0; ti < NWT; ti++) {
		qk_type t = wtypes[ti];
		int want = nonly == 0;
		for (size_t j = 0; j < nonly; j++)
			want |= only[j] == t;
		if (!want)
			continue;
		for (int s = 0; s < NISA; s++) {
			qk_backend *be = backend(isas[s], nth);
			if (!be)
				continue;
			for (size_t si = 0; si < sizeof mk / sizeof mk[0]; si++) {
				int64_t m = mk[si][0], k = mk[si][1];
				if (k % qk_type_block(t))  /* K-quants: 576 -> 768 */
					k += qk_type_block(t) - k % qk_type_block(t);
				if (s == 0 && m * n > 2000)
					continue;  /* the reference is only a yardstick */
				double sec = time_matmul(be, t, m, k, n, budget);
				double flop = 2.0 * (double)m * (double)k * (double)n;
				double bytes = (double)m * (double)qk_row_bytes(t, k);
				char shape[32];
				snprintf(shape, sizeof shape, "%lldx%lld", (long long)m, (long long)k);
				printf("%-5s %-6s %11s %9.1f %9.2f %9.2f\n", qk_type_name(t), isas[s], shape, sec * 1e6,
				       flop / sec * 1e-9, bytes / sec * 1e-9);
			}
			qk_backend_free(be);
		}
	}
}

/* Peer: llama.cpp's CPU matmul path for one row at a time - its from_float
 * of x to the vec_dot type, then vec_dot per weight row - loaded from
 * llama-cpp-python's libggml-cpu.so, single-threaded, against our matmul
 * with one thread and the best ISA, on the same random weights. */
typedef void (*ggml_from_float)(const float *, void *, int64_t);
typedef void (*ggml_vec_dot)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
struct ggml_traits {
	ggml_from_float from_float;
	ggml_vec_dot vec_dot;
	int vec_dot_type;
	int64_t nrows;
};

static void cmd_peer(int argc, char **argv)
{
	if (argc < 1) {
		FAIL("peer: usage: qk-test peer LIBDIR [TYPE...]");
		return;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/libggml-base.so", argv[0]);
	void *base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	snprintf(path, sizeof path, "%s/libggml-cpu.so", argv[0]);
	void *lib = base ? dlopen(path, RTLD_NOW) : NULL;
	if (!lib) {
		FAIL("peer: %s", dlerror());
		return;
	}
	void (*init)(void) = (void (*)(void))dlsym(lib, "ggml_cpu_init");
	const struct ggml_traits *(*traits)(int) = (const struct ggml_traits *(*)(int))dlsym(lib, "ggml_get_type_traits_cpu");
	if (!init || !traits) {
		FAIL("peer: ggml_cpu_init / ggml_get_type_traits_cpu not found");
		return;
	}
	init();
	qk_backend *be = qk_cpu_new(1, NULL);
	static const int64_t mk[][2] = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
	printf("# one thread: llama.cpp from_float + vec_dot per row vs qk_matmul (%s), n = 1, median\n",
	       qk_cpu_isa(be));
	printf("%-5s %11s %10s %10s %7s\n", "type", "m x k", "llama us", "qk us", "ratio");
	for (size_t ti = 0; ti < NWT; ti++) {
		qk_type t = wtypes[ti];
		int want = argc == 1;
		for (int j = 1; j < argc; j++)
			want |= qk_type_parse(argv[j]) == (int)t;
		if (!want)
			continue;
		const struct ggml_traits *tr = traits((int)t), *vt = traits(tr->vec_dot_type);
		for (size_t si = 0; si < sizeof mk / sizeof mk[0]; si++) {
			int64_t m = mk[si][0], k = mk[si][1];
			if (k % qk_type_block(t))
				k += qk_type_block(t) - k % qk_type_block(t);
			size_t rb = qk_row_bytes(t, k);
			uint8_t *w = random_weights(t, m, k), *xq = malloc((size_t)k * 4 + 1024);
			float *x = malloc((size_t)k * 4), *y = malloc((size_t)m * 4);
			for (int64_t j = 0; j < k; j++)
				x[j] = gauss();
			double times[1000], start = now();
			int runs = 0;
			while (runs < 1000 && (runs < 5 || now() - start < 0.2)) {
				double t0 = now();
				if (tr->vec_dot_type == QK_F32)
					memcpy(xq, x, (size_t)k * 4);
				else
					vt->from_float(x, xq, k);
				for (int64_t r = 0; r < m; r++)
					tr->vec_dot((int)k, &y[r], 0, w + (size_t)r * rb, 0, xq, 0, 1);
				times[runs++] = now() - t0;
			}
			qsort(times, (size_t)runs, sizeof *times, cmp_double);
			double ll = times[runs / 2], ours = time_matmul(be, t, m, k, 1, 0.2);
			char shape[32];
			snprintf(shape, sizeof shape, "%lldx%lld", (long long)m, (long long)k);
			printf("%-5s %11s %10.1f %10.1f %7.2f\n", qk_type_name(t), shape, ll * 1e6, ours * 1e6, ll / ours);
			free(w), free(xq), free(x), free(y);
		}
	}
	qk_backend_free(be);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: qk-test dequant|act|mm|simd|threads|ops [FILE...]\n");
		return 2;
	}
	if (strcmp(argv[1], "dequant") == 0)
		cmd_dequant(argc - 2, argv + 2);
	else if (strcmp(argv[1], "act") == 0 && argc == 3)
		cmd_act(argv[2]);
	else if (strcmp(argv[1], "mm") == 0)
		cmd_mm(argc - 2, argv + 2);
	else if (strcmp(argv[1], "simd") == 0)
		cmd_simd();
	else if (strcmp(argv[1], "multi") == 0)
		cmd_multi();
	else if (strcmp(argv[1], "threads") == 0)
		cmd_threads();
	else if (strcmp(argv[1], "ops") == 0)
		cmd_ops();
	else if (strcmp(argv[1], "attn") == 0)
		cmd_attn();
	else if (strcmp(argv[1], "info") == 0)
		return cmd_info();
	else if (strcmp(argv[1], "bench") == 0)
		cmd_bench(argc - 2, argv + 2);
	else if (strcmp(argv[1], "peer") == 0)
		cmd_peer(argc - 2, argv + 2);
	else {
		fprintf(stderr, "qk-test: unknown command %s\n", argv[1]);
		return 2;
	}
	return failures ? 1 : 0;
}
