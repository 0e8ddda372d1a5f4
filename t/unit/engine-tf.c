/*
 * engine-tf - teacher-forced logits of many sequences against golden top-K
 * logits and some golden full rows (t/data/engine/README's tf-* files).
 *
 *   engine-tf MODEL DIR [MIN_POS]
 *
 * DIR holds tf-seqs.txt ("s kind n ids", tab-separated), tf.txt ("s pos id
 * TOPK-ids TOPK-logits": the golden top-K ids best first and their logits),
 * tf-full.txt ("i s pos") and tf-full.f32.gz (row i: n_vocab float32 LE).
 * The sequences run together in one engine with all_logits (the prompt
 * chunked 128 tokens per step): all of them, or with MIN_POS the last ones
 * of tf-seqs.txt, as many as it takes to cover MIN_POS positions.
 *
 * Prints "positions N top1 A pct P maxdiff-topk X maxdiff-full Y rows R
 * sequences S" where A counts positions whose argmax is the golden top-1,
 * X is the largest |ours - golden| over every golden top-K logit, Y over
 * every element of the R full rows among the positions run.  Exit 0 (the test judges), 2 on errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "gguf.h"
#include "model.h"
#include "qk.h"
#include "tok.h"

#include "engine-open.h"

#define TOPK 8

typedef struct row {
	int32_t top[TOPK];
	float logit[TOPK];
	int full;              /* index into the full rows, -1 */
} row;

typedef struct seq {
	q_ids ids;
	row *rows;             /* [ids.n] */
} seq;

static struct {
	seq *s;
	int n_seq;
	float *full;           /* [n_full][n_vocab] */
	int n_full, n_vocab, n_full_seen;
	long positions, top1;
	double maxdiff_topk, maxdiff_full;
} st;

static void bad(const char *file, long line)
{
	fprintf(stderr, "engine-tf: %s: line %ld: malformed\n", file, line);
	exit(2);
}

/* Open DIR/name for reading lines. */
static FILE *open_in(const char *dir, const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		q_error("%s:", path);
		die("open");
	}
	return f;
}

static int on_logits(void *ud, int pos, const float *l, int n_vocab)
{
	const seq *s = ud;
	const row *r = &s->rows[pos];
	int am = 0;
	for (int i = 1; i < n_vocab; i++)
		if (l[i] > l[am])
			am = i;
	st.positions++;
	st.top1 += am == r->top[0];
	for (int k = 0; k < TOPK; k++) {
		double d = fabs((double)l[r->top[k]] - r->logit[k]);
		st.maxdiff_topk = d > st.maxdiff_topk ? d : st.maxdiff_topk;
	}
	if (r->full >= 0) {
		st.n_full_seen++;
		const float *g = st.full + (size_t)r->full * (size_t)n_vocab;
		for (int i = 0; i < n_vocab; i++) {
			double d = fabs((double)l[i] - g[i]);
			st.maxdiff_full = d > st.maxdiff_full ? d : st.maxdiff_full;
		}
	}
	return 0;
}

/* Read the four files of dir into st. */
static void load(const char *dir)
{
	char path[4096], line[1 << 16];
	long ln = 0;
	FILE *f = open_in(dir, "tf-seqs.txt", path, sizeof path);
	while (fgets(line, sizeof line, f)) {
		ln++;
		int s;
		char *p = strchr(line, '\t');
		if (sscanf(line, "%d", &s) != 1 || s != st.n_seq || !p || !(p = strchr(p + 1, '\t')) ||
		    !(p = strchr(p + 1, '\t')))
			bad(path, ln);
		st.s = realloc(st.s, (size_t)(st.n_seq + 1) * sizeof *st.s);
		seq *q = &st.s[st.n_seq++];
		memset(q, 0, sizeof *q);
		for (char *e;; p = e) {
			long v = strtol(p, &e, 10);
			if (e == p)
				break;
			if (q_ids_push(&q->ids, (int32_t)v) < 0)
				die("ids");
		}
		q->rows = calloc(q->ids.n, sizeof *q->rows);
		for (size_t i = 0; i < q->ids.n; i++)
			q->rows[i].full = -1;
	}
	fclose(f);
	f = open_in(dir, "tf.txt", path, sizeof path);
	for (ln = 1; fgets(line, sizeof line, f); ln++) {
		char *p = line, *e;
		long s = strtol(p, &e, 10), pos = strtol(e, &e, 10);
		strtol(e, &e, 10);
		if (s < 0 || s >= st.n_seq || pos < 0 || (size_t)pos >= st.s[s].ids.n)
			bad(path, ln);
		row *r = &st.s[s].rows[pos];
		for (int k = 0; k < TOPK; k++)
			r->top[k] = (int32_t)strtol(e, &e, 10);
		for (int k = 0; k < TOPK; k++)
			r->logit[k] = strtof(e, &e);
		if (r->top[0] < 0 || r->top[0] >= st.n_vocab)
			bad(path, ln);
	}
	fclose(f);
	f = open_in(dir, "tf-full.txt", path, sizeof path);
	for (ln = 1; fgets(line, sizeof line, f); ln++) {
		int i, s, pos;
		if (sscanf(line, "%d %d %d", &i, &s, &pos) != 3 || i != st.n_full || s < 0 || s >= st.n_seq ||
		    pos < 0 || (size_t)pos >= st.s[s].ids.n)
			bad(path, ln);
		st.s[s].rows[pos].full = st.n_full++;
	}
	fclose(f);
	snprintf(path, sizeof path, "%s/tf-full.f32.gz", dir);
	gzFile z = gzopen(path, "rb");
	size_t nb = (size_t)st.n_full * (size_t)st.n_vocab * sizeof(float);
	st.full = malloc(nb ? nb : 1);
	if (!z || !st.full || (nb && gzread(z, st.full, (unsigned)nb) != (int)nb)) {
		fprintf(stderr, "engine-tf: %s: cannot read %zu bytes\n", path, nb);
		exit(2);
	}
	gzclose(z);
}

int main(int argc, char **argv)
{
	prog = "engine-tf";
	if (argc < 3) {
		fprintf(stderr, "usage: engine-tf MODEL DIR\n");
		return 2;
	}
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);
	st.n_vocab = q_model_hparams(m)->n_vocab;
	load(argv[2]);
	long min_pos = argc > 3 ? atol(argv[3]) : 0, covered = 0;
	int first = st.n_seq, max_len = 0;
	while (first > 0 && (!min_pos || covered < min_pos))
		covered += (long)st.s[--first].ids.n;
	for (int i = first; i < st.n_seq; i++)
		max_len = (int)st.s[i].ids.n > max_len ? (int)st.s[i].ids.n : max_len;
	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = 8;
	c.n_ctx = max_len;
	c.batch_tokens = 128;
	c.max_logits = 128;
	q_engine *e = q_engine_new(m, tok, be, &c);
	if (!e)
		die("engine");
	for (int i = first; i < st.n_seq; i++) {
		q_req r = {.prompt = st.s[i].ids.v, .n_prompt = (int)st.s[i].ids.n, .n_predict = 0, .all_logits = 1,
			   .on_logits = on_logits, .ud = &st.s[i]};
		q_sample_defaults(&r.sample);
		if (q_engine_add(e, &r) < 0)
			die("add");
	}
	if (q_engine_run(e) < 0)
		die("run");
	printf("positions %ld top1 %ld pct %.2f maxdiff-topk %.4f maxdiff-full %.4f rows %d sequences %d\n",
	       st.positions, st.top1, st.positions ? 100.0 * (double)st.top1 / (double)st.positions : 0.0,
	       st.maxdiff_topk, st.maxdiff_full, st.n_full_seen, st.n_seq - first);
	for (int i = 0; i < st.n_seq; i++) {
		q_ids_free(&st.s[i].ids);
		free(st.s[i].rows);
	}
	free(st.s);
	free(st.full);
	q_engine_free(e);
	close_model(g, tok, be, m);
	return 0;
}
