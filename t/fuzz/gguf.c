/*
 * t/fuzz/gguf.c - libFuzzer target for lib/gguf.
 *
 * Opens the input with q_gguf_open_mem() and, when it validates, touches
 * everything the API hands out: every kv (key bytes, value through the typed
 * getters), every array element at every nesting level, every string byte,
 * every tensor (by index and by name, first and last data byte).  When it
 * does not validate, the error must be one line "fuzz: ... at offset N" with
 * N <= the input size.  Any violated expectation traps, which the fuzzer
 * and the sanitizer replay build report as a crash.
 */
#include "err.h"
#include "gguf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static volatile unsigned sink;

static void touch(const void *p, uint64_t n)
{
	const unsigned char *c = p;
	unsigned s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += c[i];
	sink += s;
}

static void walk(const q_gguf_val *v, int depth)
{
	if (v->type == Q_GGUF_STRING)
		touch(v->s.p, v->s.len);
	if (v->type != Q_GGUF_ARRAY)
		return;
	CHECK(depth <= 8); /* depth counts arrays, the outermost is 1 */
	q_gguf_iter it;
	q_gguf_val e;
	uint64_t n = 0;
	q_gguf_iter_init(&it, v);
	while (q_gguf_iter_next(&it, &e)) {
		CHECK(e.type == v->arr.elem_type);
		walk(&e, depth + 1);
		n++;
	}
	CHECK(n == v->arr.n);
}

static void getters(const q_gguf *g, const char *key, const q_gguf_val *v)
{
	uint64_t u;
	int64_t i;
	double f;
	int b;
	q_str s;
	CHECK(q_gguf_get(g, key) == v);
	int ru = q_gguf_get_u64(g, key, &u), ri = q_gguf_get_i64(g, key, &i);
	int rf = q_gguf_get_f64(g, key, &f), rb = q_gguf_get_bool(g, key, &b);
	int rs = q_gguf_get_str(g, key, &s);
	CHECK((rf == 0) == (v->type == Q_GGUF_FLOAT32 || v->type == Q_GGUF_FLOAT64));
	CHECK((rb == 0) == (v->type == Q_GGUF_BOOL));
	CHECK((rs == 0) == (v->type == Q_GGUF_STRING));
	if (ru == 0 && ri == 0)
		CHECK((uint64_t)i == u);
	if (rs == 0)
		touch(s.p, s.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	q_gguf *g = q_gguf_open_mem(data, size, "fuzz");
	if (!g) {
		const char *msg = q_errmsg(), *at = NULL;
		unsigned long long off;
		char end;
		/* the last " at offset ": names quoted in the message may hold one */
		for (const char *p = msg; (p = strstr(p, " at offset ")); p++)
			at = p;
		CHECK(strncmp(msg, "fuzz: ", 6) == 0 && !strchr(msg, '\n') && at);
		CHECK(sscanf(at, " at offset %llu%c", &off, &end) == 1 && off <= size);
		return 0;
	}
	CHECK(q_gguf_version(g) == 2 || q_gguf_version(g) == 3);
	uint32_t a = q_gguf_alignment(g);
	CHECK(a && !(a & (a - 1)));
	for (uint64_t i = 0; i < q_gguf_n_kv(g); i++) {
		q_str k = q_gguf_kv_key(g, i);
		const q_gguf_val *v = q_gguf_kv_val(g, i);
		CHECK(k.len > 0 && v);
		touch(k.p, k.len);
		walk(v, 1);
		char *key = strndup(k.p, k.len);
		if (!key)
			abort();
		if (strlen(key) == k.len)
			getters(g, key, v);
		free(key);
	}
	CHECK(q_gguf_kv_val(g, q_gguf_n_kv(g)) == NULL);
	for (uint64_t i = 0; i < q_gguf_n_tensors(g); i++) {
		const q_gguf_tensor *t = q_gguf_tensor_at(g, i);
		CHECK(t && t->n_dims >= 1 && t->n_dims <= 4 && q_gguf_type_name(t->type));
		CHECK((const uint8_t *)t->data >= data && t->nbytes <= size);
		CHECK((size_t)((const uint8_t *)t->data - data) <= size - t->nbytes);
		CHECK(t->offset % a == 0);
		touch(t->name.p, t->name.len);
		if (t->nbytes) {
			touch(t->data, 1);
			touch((const uint8_t *)t->data + t->nbytes - 1, 1);
		}
		char *name = strndup(t->name.p, t->name.len);
		if (!name)
			abort();
		if (strlen(name) == t->name.len)
			CHECK(q_gguf_find_tensor(g, name) == t);
		free(name);
	}
	CHECK(q_gguf_tensor_at(g, q_gguf_n_tensors(g)) == NULL);
	q_gguf_free(g);
	return 0;
}
