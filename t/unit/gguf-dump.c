/*
 * gguf-dump - test driver for lib/gguf: prints a canonical dump of a GGUF
 * file that t/data/gguf/gen-golden.py reproduces with the PyPI `gguf`
 * package, so the two can be compared byte for byte.
 *
 *   gguf-dump FILE               the canonical dump (format below)
 *   gguf-dump -p FILE            open every proper prefix of FILE from memory:
 *                                each must fail with one line "prefix: ... at
 *                                offset N", N <= prefix length; the whole
 *                                file must open.  Prints "LEN: message" lines.
 *   gguf-dump -g FILE KIND NAME  one typed lookup, KIND one of u64 i64 f64
 *                                bool str tensor: prints the value, or
 *                                "absent" (exit 0) or the error (exit 1)
 *
 * Dump format, one item per line:
 *   version V / alignment A / kv_count N / tensor_count M
 *   kv "KEY" TYPE VALUE
 *   tensor "NAME" GGMLTYPE [ne0, ...] offset=OFF nbytes=N crc32=XXXXXXXX
 * Scalars print as decimal integers, floats as %.9g (float32) or %.17g
 * (float64) with nan/inf/-inf, bools as true/false, strings quoted with \"
 * \\ \n \t \r escaped and other bytes < 0x20 or 0x7f as \xHH (bytes >= 0x80
 * verbatim).  Arrays: array[ELEMTYPE] n=N [e0, e1, ...] crc32=X, listing all
 * elements when N <= 8, otherwise the first 4, "...", and the last 4; X is
 * the zlib CRC-32 of every element's text followed by "\n".  A nested array
 * element prints as an array.  The tensor crc32 covers its data bytes.
 * Scalars are read through the typed getters and tensors are looked up by
 * name as well as by index, so the dump exercises those too.
 *
 * Errors: "gguf-dump: error: <q_errmsg>" on stderr, exit 1; usage exit 2.
 */
#include "buf.h"
#include "err.h"
#include "gguf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SHOW 4 /* elements shown at each end of a long array */

static int die(void)
{
	fprintf(stderr, "gguf-dump: error: %s\n", q_errmsg());
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: gguf-dump FILE | -p FILE | -g FILE u64|i64|f64|bool|str|tensor NAME\n");
	return 2;
}

static const char *const type_names[] = {
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64",
};

static int add_str(q_buf *b, q_str s)
{
	if (q_buf_addc(b, '"') < 0)
		return -1;
	for (uint64_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		int rc;
		if (c == '"' || c == '\\')
			rc = q_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			rc = q_buf_adds(b, "\\n");
		else if (c == '\t')
			rc = q_buf_adds(b, "\\t");
		else if (c == '\r')
			rc = q_buf_adds(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			rc = q_buf_printf(b, "\\x%02x", c);
		else
			rc = q_buf_addc(b, (char)c);
		if (rc < 0)
			return -1;
	}
	return q_buf_addc(b, '"');
}

static int add_float(q_buf *b, double f, int prec)
{
	if (isnan(f))
		return q_buf_adds(b, "nan");
	if (isinf(f))
		return q_buf_adds(b, f > 0 ? "inf" : "-inf");
	return q_buf_printf(b, "%.*g", prec, f);
}

static int add_val(q_buf *b, const q_gguf_val *v);

/* An array: type, count, the shown elements and the CRC of all of them. */
static int add_array(q_buf *b, const q_gguf_val *v)
{
	q_buf el[2 * SHOW] = {Q_BUF_INIT}; /* first SHOW, then a ring of the last SHOW */
	q_buf tmp = Q_BUF_INIT;
	uLong crc = crc32(0L, Z_NULL, 0);
	q_gguf_iter it;
	q_gguf_val e;
	uint64_t n = v->arr.n, i = 0;
	int rc = -1;

	q_gguf_iter_init(&it, v);
	while (q_gguf_iter_next(&it, &e)) {
		q_buf_reset(&tmp);
		if (e.type != v->arr.elem_type) {
			q_error("element %llu has type %d, array says %d", (unsigned long long)i, e.type,
				v->arr.elem_type);
			goto out;
		}
		if (add_val(&tmp, &e) < 0 || q_buf_addc(&tmp, '\n') < 0)
			goto out;
		crc = crc32(crc, (const Bytef *)tmp.p, (uInt)tmp.len);
		q_buf *slot = i < SHOW ? &el[i] : &el[SHOW + (i - SHOW) % SHOW];
		q_buf_reset(slot);
		if (i < SHOW || i >= n - SHOW)
			if (q_buf_add(slot, tmp.p, tmp.len - 1) < 0)
				goto out;
		i++;
	}
	if (i != n) {
		q_error("iterator gave %llu elements of %llu", (unsigned long long)i, (unsigned long long)n);
		goto out;
	}
	if (q_buf_printf(b, "array[%s] n=%llu [", type_names[v->arr.elem_type], (unsigned long long)n) < 0)
		goto out;
	for (uint64_t k = 0; k < n; k++) {
		if (n > 2 * SHOW && k == SHOW) {
			if (q_buf_adds(b, ", ...") < 0)
				goto out;
			k = n - SHOW;
		}
		const q_buf *s = k < SHOW ? &el[k] : &el[SHOW + (k - SHOW) % SHOW];
		if ((k > 0 && q_buf_adds(b, ", ") < 0) || q_buf_add(b, s->p, s->len) < 0)
			goto out;
	}
	rc = q_buf_printf(b, "] crc32=%08lx", crc);
out:
	for (int k = 0; k < 2 * SHOW; k++)
		q_buf_free(&el[k]);
	q_buf_free(&tmp);
	return rc;
}

/* The text of one value (an element, or a kv value read without getters). */
static int add_val(q_buf *b, const q_gguf_val *v)
{
	switch (v->type) {
	case Q_GGUF_UINT8: case Q_GGUF_UINT16: case Q_GGUF_UINT32: case Q_GGUF_UINT64:
		return q_buf_printf(b, "%llu", (unsigned long long)v->u);
	case Q_GGUF_INT8: case Q_GGUF_INT16: case Q_GGUF_INT32: case Q_GGUF_INT64:
		return q_buf_printf(b, "%lld", (long long)v->i);
	case Q_GGUF_FLOAT32: return add_float(b, v->f, 9);
	case Q_GGUF_FLOAT64: return add_float(b, v->f, 17);
	case Q_GGUF_BOOL: return q_buf_adds(b, v->u ? "true" : "false");
	case Q_GGUF_STRING: return add_str(b, v->s);
	case Q_GGUF_ARRAY: return add_array(b, v);
	}
	return q_error("bad value type %d", v->type);
}

/* A top-level value, scalars read back through the typed getters. */
static int add_kv(q_buf *b, const q_gguf *g, const char *key, const q_gguf_val *v)
{
	uint64_t u;
	int64_t i;
	double f;
	int t;
	q_str s;

	if (v->type != Q_GGUF_ARRAY && q_buf_printf(b, "%s ", type_names[v->type]) < 0)
		return -1;
	switch (v->type) {
	case Q_GGUF_UINT8: case Q_GGUF_UINT16: case Q_GGUF_UINT32: case Q_GGUF_UINT64:
		if (q_gguf_get_u64(g, key, &u) < 0)
			return -1;
		return q_buf_printf(b, "%llu", (unsigned long long)u);
	case Q_GGUF_INT8: case Q_GGUF_INT16: case Q_GGUF_INT32: case Q_GGUF_INT64:
		if (q_gguf_get_i64(g, key, &i) < 0)
			return -1;
		return q_buf_printf(b, "%lld", (long long)i);
	case Q_GGUF_FLOAT32: case Q_GGUF_FLOAT64:
		if (q_gguf_get_f64(g, key, &f) < 0)
			return -1;
		return add_float(b, f, v->type == Q_GGUF_FLOAT32 ? 9 : 17);
	case Q_GGUF_BOOL:
		if (q_gguf_get_bool(g, key, &t) < 0)
			return -1;
		return q_buf_adds(b, t ? "true" : "false");
	case Q_GGUF_STRING:
		if (q_gguf_get_str(g, key, &s) < 0)
			return -1;
		return add_str(b, s);
	case Q_GGUF_ARRAY:
		return add_array(b, v);
	}
	return q_error("bad value type %d", v->type);
}

/* The canonical dump of g into b. */
static int dump(q_buf *b, const q_gguf *g)
{
	q_buf name = Q_BUF_INIT;
	int rc = -1;

	if (q_buf_printf(b, "version %u\nalignment %u\nkv_count %llu\ntensor_count %llu\n",
			 q_gguf_version(g), q_gguf_alignment(g), (unsigned long long)q_gguf_n_kv(g),
			 (unsigned long long)q_gguf_n_tensors(g)) < 0)
		goto out;
	for (uint64_t i = 0; i < q_gguf_n_kv(g); i++) {
		q_str k = q_gguf_kv_key(g, i);
		const q_gguf_val *v = q_gguf_kv_val(g, i);
		q_buf_reset(&name);
		if (q_buf_add(&name, k.p, k.len) < 0)
			goto out;
		if (strlen(name.p) == k.len && q_gguf_get(g, name.p) != v) {
			q_error("q_gguf_get(\"%s\") does not find kv %llu", name.p, (unsigned long long)i);
			goto out;
		}
		/* keys with a NUL cannot be looked up by C string: print them raw */
		if (q_buf_adds(b, "kv ") < 0 || add_str(b, k) < 0 || q_buf_addc(b, ' ') < 0)
			goto out;
		if (strlen(name.p) == k.len ? add_kv(b, g, name.p, v) < 0
		    : ((v->type != Q_GGUF_ARRAY && q_buf_printf(b, "%s ", type_names[v->type]) < 0) ||
		       add_val(b, v) < 0))
			goto out;
		if (q_buf_addc(b, '\n') < 0)
			goto out;
	}
	for (uint64_t i = 0; i < q_gguf_n_tensors(g); i++) {
		const q_gguf_tensor *t = q_gguf_tensor_at(g, i);
		q_buf_reset(&name);
		if (q_buf_add(&name, t->name.p, t->name.len) < 0)
			goto out;
		if (strlen(name.p) == t->name.len && q_gguf_find_tensor(g, name.p) != t) {
			q_error("q_gguf_find_tensor(\"%s\") does not find tensor %llu", name.p,
				(unsigned long long)i);
			goto out;
		}
		if (q_buf_adds(b, "tensor ") < 0 || add_str(b, t->name) < 0 ||
		    q_buf_printf(b, " %s [", q_gguf_type_name(t->type)) < 0)
			goto out;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if (q_buf_printf(b, d ? ", %llu" : "%llu", (unsigned long long)t->ne[d]) < 0)
				goto out;
		uLong crc = crc32(0L, Z_NULL, 0);
		for (uint64_t o = 0; o < t->nbytes; o += 1u << 30) {
			uint64_t n = t->nbytes - o < (1u << 30) ? t->nbytes - o : (1u << 30);
			crc = crc32(crc, (const Bytef *)t->data + o, (uInt)n);
		}
		if (q_buf_printf(b, "] offset=%llu nbytes=%llu crc32=%08lx\n", (unsigned long long)t->offset,
				 (unsigned long long)t->nbytes, crc) < 0)
			goto out;
	}
	rc = 0;
out:
	q_buf_free(&name);
	return rc;
}

/* -p: every proper prefix must fail cleanly, the whole file must open. */
static int prefixes(const char *path)
{
	q_buf file = Q_BUF_INIT;
	int bad = 0;

	if (q_buf_read_file(&file, path) < 0)
		return die();
	for (size_t n = 0; n < file.len; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
		if (!copy) {
			q_buf_free(&file);
			q_error("out of memory");
			return die();
		}
		memcpy(copy, file.p, n);
		q_gguf *g = q_gguf_open_mem(copy, n, "prefix");
		const char *msg = q_errmsg(), *at = NULL;
		for (const char *p = msg; (p = strstr(p, " at offset ")); p++)
			at = p; /* the last one: a quoted name may contain the phrase */
		unsigned long long off = 0;
		char end = 0;
		if (g) {
			fprintf(stderr, "gguf-dump: prefix of %zu bytes opened\n", n);
			bad = 1;
		} else if (strncmp(msg, "prefix: ", 8) != 0 || strchr(msg, '\n') || !at ||
			   sscanf(at, " at offset %llu%c", &off, &end) != 1 || off > n) {
			fprintf(stderr, "gguf-dump: prefix of %zu bytes: bad message '%s'\n", n, msg);
			bad = 1;
		}
		printf("%zu: %s\n", n, g ? "opened" : msg);
		q_gguf_free(g);
		free(copy);
	}
	q_gguf *g = q_gguf_open_mem(file.p, file.len, path);
	if (!g) {
		q_buf_free(&file);
		return die();
	}
	q_gguf_free(g);
	q_buf_free(&file);
	return bad;
}

/* -g: one typed lookup. */
static int get(const char *path, const char *kind, const char *key)
{
	q_gguf *g = q_gguf_open(path);
	if (!g)
		return die();
	q_buf b = Q_BUF_INIT;
	uint64_t u;
	int64_t i;
	double f;
	int t, rc = -1;
	q_str s;

	q_error("%s", "");
	if (!strcmp(kind, "u64") && (rc = q_gguf_get_u64(g, key, &u)) == 0)
		q_buf_printf(&b, "%llu", (unsigned long long)u);
	else if (!strcmp(kind, "i64") && (rc = q_gguf_get_i64(g, key, &i)) == 0)
		q_buf_printf(&b, "%lld", (long long)i);
	else if (!strcmp(kind, "f64") && (rc = q_gguf_get_f64(g, key, &f)) == 0)
		add_float(&b, f, 17);
	else if (!strcmp(kind, "bool") && (rc = q_gguf_get_bool(g, key, &t)) == 0)
		q_buf_adds(&b, t ? "true" : "false");
	else if (!strcmp(kind, "str") && (rc = q_gguf_get_str(g, key, &s)) == 0)
		add_str(&b, s);
	else if (!strcmp(kind, "tensor")) {
		const q_gguf_tensor *tt = q_gguf_find_tensor(g, key);
		rc = tt ? 0 : -1;
		if (tt)
			q_buf_printf(&b, "%s nbytes=%llu", q_gguf_type_name(tt->type),
				     (unsigned long long)tt->nbytes);
	} else if (strcmp(kind, "u64") && strcmp(kind, "i64") && strcmp(kind, "f64") &&
		   strcmp(kind, "bool") && strcmp(kind, "str")) {
		q_gguf_free(g);
		return usage();
	}
	int status = 0;
	if (rc == 0)
		printf("%s\n", b.p ? b.p : "");
	else if (!*q_errmsg())
		printf("absent\n");
	else
		status = die();
	q_buf_free(&b);
	q_gguf_free(g);
	return status;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-p"))
		return prefixes(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "-g"))
		return get(argv[2], argv[3], argv[4]);
	if (argc != 2 || argv[1][0] == '-')
		return usage();

	q_gguf *g = q_gguf_open(argv[1]);
	if (!g)
		return die();
	q_buf b = Q_BUF_INIT;
	int rc = dump(&b, g);
	q_gguf_free(g);
	if (rc < 0) {
		q_buf_free(&b);
		return die();
	}
	fwrite(b.p, 1, b.len, stdout);
	q_buf_free(&b);
	return fflush(stdout) == 0 ? 0 : 1;
}
