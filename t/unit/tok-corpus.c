/*
 * tok-corpus - test driver for lib/tok: encodes every line of a JSONL corpus
 * and compares the ids with an oracle's (t/data/tok/gen-golden.py).
 *
 *   tok-corpus MODEL CORPUS.jsonl [--raw] [--expect FILE.ids]
 *              [--roundtrip [--decoded DIFF.jsonl]] [--name NAME]
 *
 * MODEL      a .gguf file (q_gguf_open + q_tok_from_gguf), otherwise a
 *            tokenizer.json or a directory holding one (q_tok_from_hf)
 * CORPUS     one JSON string per line (no NULs: a line is a C string)
 * --raw      encode with flags 0; default Q_TOK_ADD_SPECIAL|Q_TOK_PARSE_SPECIAL
 * --expect   one line of space-separated ids per corpus line (empty = none);
 *            its line count must equal the corpus's
 * --roundtrip (needs --raw) for each line: q_tok_decode(our ids) must equal
 *            the input, or the text the oracle decoded where --decoded lists
 *            the line ({"line": N, "text": T} per line, N 1-based); feeding
 *            the same ids one by one through q_detok_feed + q_detok_flush
 *            must give the same bytes, every chunk valid UTF-8
 * --name     label for the summary (default: the --expect file's name)
 *
 * Output (stdout), TAP comments only, the caller makes the TAP line:
 *   # NAME: N/M identical                 (with --expect)
 *   # NAME: roundtrip N/M identical, detok N/M identical, K invalid chunks
 *   # NAME: encode T ms (B bytes, I ids)
 * and, under each summary, the first 5 failing lines: line number, the
 * input (escaped), what was expected and what we got.
 * Exit 0 when everything checked matched, 1 on any mismatch, 2 on usage or
 * load errors ("tok-corpus: error: ..." on stderr).
 *
 * Invariant: corpus strings, expected ids and decoded texts are all owned by
 * the struct line array and freed in one place, at the end of main.
 */
#include "buf.h"
#include "err.h"
#include "gguf.h"
#include "tok.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHOW_FAILS 5   /* failing lines reported per check */
#define SHOW_IDS 48    /* ids shown per list */
#define SHOW_CHARS 160 /* escaped characters shown per text */

struct line {
	char *text;     /* the corpus string (malloc'd, NUL-terminated) */
	size_t len;
	q_ids want;     /* expected ids (--expect) */
	char *decoded;  /* oracle's decode when it is not text (--decoded), or NULL */
	size_t dec_len;
};

static void fail(const char *what)
{
	fprintf(stderr, "tok-corpus: error: %s\n", what);
}

static int usage(void)
{
	fprintf(stderr, "usage: tok-corpus MODEL CORPUS.jsonl [--raw] [--expect FILE.ids] "
		"[--roundtrip [--decoded DIFF.jsonl]] [--name NAME]\n");
	return 2;
}

/* Split b (NUL-terminated) into lines in place: returns the number of
 * '\n'-terminated lines and points *starts at a malloc'd array of their
 * starts (each line's '\n' replaced by NUL).  A last line without '\n' is an
 * error.  -1 + q_error. */
static long split_lines(q_buf *b, const char *name, char ***starts)
{
	long n = 0, cap = 0;
	char **v = NULL, *p = b->p, *end = b->p + b->len;

	if (b->len > 0 && b->p[b->len - 1] != '\n') {
		q_error("%s: last line has no newline", name);
		return -1;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (n == cap) {
			long nc = cap ? 2 * cap : 1024;
			char **nv = realloc(v, (size_t)nc * sizeof *nv);
			if (!nv) {
				free(v);
				q_error("out of memory");
				return -1;
			}
			v = nv;
			cap = nc;
		}
		*nl = '\0';
		v[n++] = p;
		p = nl + 1;
	}
	*starts = v;
	return n;
}

/* Read the corpus: fills *lines (calloc'd, n entries) with each line's
 * decoded string.  Returns n or -1 + q_error. */
static long read_corpus(const char *path, struct line **lines)
{
	q_buf b = Q_BUF_INIT;
	char **starts = NULL;
	long n, i;
	struct line *v = NULL;

	if (q_buf_read_file(&b, path) < 0)
		return -1;
	n = split_lines(&b, path, &starts);
	if (n < 0)
		goto err;
	v = calloc((size_t)n + 1, sizeof *v);
	if (!v) {
		q_error("out of memory");
		goto err;
	}
	for (i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(starts[i]);
		if (!j || !cJSON_IsString(j)) {
			cJSON_Delete(j);
			q_error("%s:%ld: not a JSON string", path, i + 1);
			goto err;
		}
		v[i].len = strlen(j->valuestring);
		v[i].text = strdup(j->valuestring);
		cJSON_Delete(j);
		if (!v[i].text) {
			q_error("out of memory");
			goto err;
		}
	}
	free(starts);
	q_buf_free(&b);
	*lines = v;
	return n;
err:
	if (v)
		for (i = 0; i < n; i++)
			free(v[i].text);
	free(v);
	free(starts);
	q_buf_free(&b);
	return -1;
}

/* Parse the expected ids file into lines[i].want; its line count must be n.
 * 0 or -1 + q_error. */
static int read_expect(const char *path, struct line *lines, long n)
{
	q_buf b = Q_BUF_INIT;
	char **starts = NULL;
	long m, i;
	int rc = -1;

	if (q_buf_read_file(&b, path) < 0)
		return -1;
	m = split_lines(&b, path, &starts);
	if (m < 0)
		goto out;
	if (m != n) {
		q_error("%s: %ld lines, corpus has %ld", path, m, n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		char *p = starts[i];
		while (*p) {
			char *e;
			long id;
			errno = 0;
			id = strtol(p, &e, 10);
			if (e == p || errno || id < 0 || id > INT32_MAX || (*e != ' ' && *e != '\0')) {
				q_error("%s:%ld: bad id list", path, i + 1);
				goto out;
			}
			if (q_ids_push(&lines[i].want, (int32_t)id) < 0)
				goto out;
			p = *e ? e + 1 : e;
		}
	}
	rc = 0;
out:
	free(starts);
	q_buf_free(&b);
	return rc;
}

/* Read --decoded: {"line": N, "text": T} per line sets lines[N-1].decoded.
 * 0 or -1 + q_error. */
static int read_decoded(const char *path, struct line *lines, long n)
{
	q_buf b = Q_BUF_INIT;
	char **starts = NULL;
	long m, i;
	int rc = -1;

	if (q_buf_read_file(&b, path) < 0)
		return -1;
	m = split_lines(&b, path, &starts);
	if (m < 0)
		goto out;
	for (i = 0; i < m; i++) {
		cJSON *j = cJSON_Parse(starts[i]);
		cJSON *ln = cJSON_GetObjectItemCaseSensitive(j, "line");
		cJSON *tx = cJSON_GetObjectItemCaseSensitive(j, "text");
		long k = cJSON_IsNumber(ln) ? (long)ln->valuedouble : 0;
		if (!cJSON_IsString(tx) || k < 1 || k > n || lines[k - 1].decoded) {
			cJSON_Delete(j);
			q_error("%s:%ld: want {\"line\": 1..%ld, \"text\": \"...\"}, each line once", path, i + 1, n);
			goto out;
		}
		lines[k - 1].dec_len = strlen(tx->valuestring);
		lines[k - 1].decoded = strdup(tx->valuestring);
		cJSON_Delete(j);
		if (!lines[k - 1].decoded) {
			q_error("out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	free(starts);
	q_buf_free(&b);
	return rc;
}

/* Print s[0..n) escaped on stdout: printable ASCII as is, \n \t \r \\ \"
 * escaped, other ASCII controls \xNN, non-ASCII as \u{X} (so NFC/NFD and
 * invisible characters show), invalid bytes \xNN; cut after SHOW_CHARS. */
static void put_escaped(const char *s, size_t n)
{
	size_t i = 0;
	int shown = 0;

	putchar('"');
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t k;
		if (shown++ >= SHOW_CHARS) {
			printf("\"... (%zu bytes)", n);
			return;
		}
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\\' || c == '"')
			printf("\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else if (c < 0x80 || !(k = q_utf8_seq((const unsigned char *)s + i, n - i, &cp)))
			printf("\\x%02X", c);
		else {
			printf("\\u{%X}", (unsigned)cp);
			i += k;
			continue;
		}
		i++;
	}
	putchar('"');
}

static void put_ids(const char *label, const int32_t *v, size_t n)
{
	size_t i;

	printf("#   %s:", label);
	for (i = 0; i < n && i < SHOW_IDS; i++)
		printf(" %d", v[i]);
	if (n > SHOW_IDS)
		printf(" ... (%zu ids)", n);
	putchar('\n');
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Decode ids[0..n) through the incremental detokenizer into all, checking
 * that each chunk it emits is valid UTF-8 (*bad_chunks counts those that are
 * not).  0 or -1 + q_error. */
static int detok_all(const q_tok *t, const int32_t *ids, size_t n, q_buf *all, long *bad_chunks)
{
	q_detok d;
	q_buf chunk = Q_BUF_INIT;
	size_t i;
	int rc = -1;

	q_detok_init(&d, t);
	for (i = 0; i <= n; i++) {
		q_buf_reset(&chunk);
		if (i < n ? q_detok_feed(&d, ids[i], &chunk) : q_detok_flush(&d, &chunk))
			goto out;
		if (q_utf8_check(chunk.p, chunk.len) != chunk.len)
			++*bad_chunks;
		if (chunk.len && q_buf_add(all, chunk.p, chunk.len) < 0)
			goto out;
	}
	rc = 0;
out:
	q_buf_free(&chunk);
	return rc;
}

/* a[0..an) == b[0..bn), safe for NULL pointers of empty buffers. */
static int same_bytes(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || !memcmp(a, b, an));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int main(int argc, char **argv)
{
	const char *model = NULL, *corpus = NULL, *expect = NULL, *decoded = NULL, *name = NULL;
	int raw = 0, roundtrip = 0, status = 2, i;
	q_gguf *g = NULL;
	q_tok *t = NULL;
	struct line *lines = NULL;
	q_ids *got = NULL;
	q_buf dec = Q_BUF_INIT, inc = Q_BUF_INIT;
	long n = 0, k, same = 0, rt_same = 0, dt_same = 0, bad_chunks = 0, shown;
	size_t n_ids = 0, n_bytes = 0;
	double t0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--raw"))
			raw = 1;
		else if (!strcmp(argv[i], "--roundtrip"))
			roundtrip = 1;
		else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			expect = argv[++i];
		else if (!strcmp(argv[i], "--decoded") && i + 1 < argc)
			decoded = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return usage();
		else if (!model)
			model = argv[i];
		else if (!corpus)
			corpus = argv[i];
		else
			return usage();
	}
	if (!corpus || (roundtrip && !raw) || (decoded && !roundtrip))
		return usage();
	if (!name)
		name = expect ? base_name(expect) : base_name(model);

	if (ends_with(model, ".gguf")) {
		g = q_gguf_open(model);
		t = g ? q_tok_from_gguf(g) : NULL;
	} else {
		t = q_tok_from_hf(model);
	}
	if (!t || (n = read_corpus(corpus, &lines)) < 0 ||
	    (expect && read_expect(expect, lines, n) < 0) ||
	    (decoded && read_decoded(decoded, lines, n) < 0)) {
		fail(q_errmsg());
		n = n < 0 ? 0 : n;
		goto out;
	}
	got = calloc((size_t)n + 1, sizeof *got);
	if (!got) {
		fail("out of memory");
		goto out;
	}

	t0 = now_ms();
	for (k = 0; k < n; k++) {
		if (q_tok_encode(t, lines[k].text, lines[k].len,
				 raw ? 0 : Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL, &got[k]) < 0) {
			fprintf(stderr, "tok-corpus: error: line %ld: %s\n", k + 1, q_errmsg());
			goto out;
		}
		n_ids += got[k].n;
		n_bytes += lines[k].len;
	}
	printf("# %s: encode %.0f ms (%zu bytes, %zu ids)\n", name, now_ms() - t0, n_bytes, n_ids);
	status = 0;

	if (expect) {
		shown = 0;
		for (k = 0; k < n; k++) {
			if (same_bytes(got[k].v, got[k].n * sizeof *got[k].v,
				       lines[k].want.v, lines[k].want.n * sizeof *lines[k].want.v)) {
				same++;
				continue;
			}
			if (shown++ < SHOW_FAILS) {
				printf("#   line %ld: ", k + 1);
				put_escaped(lines[k].text, lines[k].len);
				putchar('\n');
				put_ids("want", lines[k].want.v, lines[k].want.n);
				put_ids("got ", got[k].v, got[k].n);
			}
		}
		printf("# %s: %ld/%ld identical\n", name, same, n);
		if (same != n)
			status = 1;
	}

	if (roundtrip) {
		shown = 0;
		for (k = 0; k < n; k++) {
			const char *want = lines[k].decoded ? lines[k].decoded : lines[k].text;
			size_t want_len = lines[k].decoded ? lines[k].dec_len : lines[k].len;
			long bad_before = bad_chunks;
			int ok_dec, ok_inc;
			q_buf_reset(&dec);
			q_buf_reset(&inc);
			if (q_tok_decode(t, got[k].v, got[k].n, &dec) < 0 ||
			    detok_all(t, got[k].v, got[k].n, &inc, &bad_chunks) < 0) {
				fprintf(stderr, "tok-corpus: error: line %ld: %s\n", k + 1, q_errmsg());
				status = 2;
				goto out;
			}
			ok_dec = same_bytes(dec.p, dec.len, want, want_len);
			ok_inc = same_bytes(inc.p, inc.len, dec.p, dec.len) && bad_chunks == bad_before;
			rt_same += ok_dec;
			dt_same += ok_inc;
			if ((!ok_dec || !ok_inc) && shown++ < SHOW_FAILS) {
				printf("#   line %ld: ", k + 1);
				put_escaped(lines[k].text, lines[k].len);
				printf("\n#   want:   ");
				put_escaped(want, want_len);
				printf("\n#   decode: ");
				put_escaped(dec.p, dec.len);
				printf("\n#   detok:  ");
				put_escaped(inc.p, inc.len);
				printf("%s\n", bad_chunks != bad_before ? " (invalid UTF-8 chunk)" : "");
			}
		}
		printf("# %s: roundtrip %ld/%ld identical, detok %ld/%ld identical, %ld invalid chunks\n",
		       name, rt_same, n, dt_same, n, bad_chunks);
		if (rt_same != n || dt_same != n)
			status = 1;
	}

out:
	for (k = 0; k < n; k++) {
		free(lines[k].text);
		free(lines[k].decoded);
		q_ids_free(&lines[k].want);
		if (got)
			q_ids_free(&got[k]);
	}
	free(lines);
	free(got);
	q_buf_free(&dec);
	q_buf_free(&inc);
	if (t)
		q_tok_free(t);
	if (g)
		q_gguf_free(g);
	return status;
}
