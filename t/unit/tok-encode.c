/*
 * tok-encode - small driver for lib/tok, for development and benchmarks
 * (the real tool is bin/qtok).
 *
 *   tok-encode MODEL [--raw]          stdin text -> ids, one line
 *   tok-encode MODEL [--raw] --jsonl  each stdin line a JSON string -> a line of ids
 *   tok-encode MODEL -d               stdin ids -> text (q_tok_decode)
 *   tok-encode MODEL --detok          stdin ids -> text (q_detok_feed, one id at a time)
 *   tok-encode MODEL --info           kind, sizes, special ids, load time
 *   tok-encode MODEL [--raw] --bench N  encode stdin N times; prints the
 *                                     median MB/s and the id count
 *
 * Times (load_ms, the --bench runs) are process CPU time, so a busy machine
 * does not inflate them.
 * MODEL is a .gguf file or a tokenizer.json / directory.  Exit 0, 1 on a
 * runtime error, 2 on usage.
 */
#include "buf.h"
#include "err.h"
#include "gguf.h"
#include "tok.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static q_tok *open_tok(const char *path)
{
	size_t n = strlen(path);
	if (n > 5 && !strcmp(path + n - 5, ".gguf")) {
		q_gguf *g = q_gguf_open(path);
		if (!g)
			return NULL;
		q_tok *t = q_tok_from_gguf(g);
		q_gguf_free(g);
		return t;
	}
	return q_tok_from_hf(path);
}

static int die(const char *what)
{
	fprintf(stderr, "tok-encode: error: %s\n", what);
	return 1;
}

static void print_ids(const q_ids *ids)
{
	for (size_t i = 0; i < ids->n; i++)
		printf(i ? " %d" : "%d", (int)ids->v[i]);
	putchar('\n');
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned flags = Q_TOK_ADD_SPECIAL | Q_TOK_PARSE_SPECIAL;
	int decode = 0, detok = 0, jsonl = 0, info = 0, bench = 0;
	if (argc < 2)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--raw"))
			flags = 0;
		else if (!strcmp(argv[i], "-d"))
			decode = 1;
		else if (!strcmp(argv[i], "--detok"))
			detok = 1;
		else if (!strcmp(argv[i], "--jsonl"))
			jsonl = 1;
		else if (!strcmp(argv[i], "--info"))
			info = 1;
		else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
			bench = atoi(argv[++i]);
		else
			goto usage;
	}
	double t0 = now();
	q_tok *t = open_tok(argv[1]);
	double t_load = now() - t0;
	if (!t)
		return die(q_errmsg());
	int rc = 0;
	q_buf in = Q_BUF_INIT, out = Q_BUF_INIT;
	q_ids ids = Q_IDS_INIT;
	if (info) {
		printf("kind %s\nn_vocab %d\nbos %d '%s'\neos %d '%s'\neot %d\nload_ms %.1f\neog", q_tok_kind(t) == Q_TOK_SPM ? "spm" : "bpe",
		       (int)q_tok_n_vocab(t), (int)q_tok_bos(t), q_tok_bos_text(t), (int)q_tok_eos(t), q_tok_eos_text(t),
		       (int)q_tok_eot(t), t_load * 1e3);
		for (int32_t i = 0; i < q_tok_n_vocab(t); i++)
			if (q_tok_is_eog(t, i))
				printf(" %d", (int)i);
		printf("\nspecial");
		for (int32_t i = 0, k = 0; i < q_tok_n_vocab(t) && k < 40; i++)
			if (q_tok_is_special(t, i)) {
				printf(" %d", (int)i);
				k++;
			}
		const char *ct = q_tok_chat_template(t);
		printf("\nchat_template ");
		if (!ct)
			printf("none\n");
		else
			printf("%zu bytes: %.40s\n", strlen(ct), ct);
		goto done;
	}
	if (q_buf_read_fd(&in, 0) < 0) {
		rc = die(q_errmsg());
		goto done;
	}
	if (decode || detok) {
		char *p = in.p ? in.p : "", *end;
		q_detok d;
		q_detok_init(&d, t);
		for (;;) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
			ids.n = 0;
			if (q_ids_push(&ids, (int32_t)v) < 0 ||
			    (detok ? q_detok_feed(&d, (int32_t)v, &out) : q_tok_decode_piece(t, (int32_t)v, d.n_seen++ == 0, &out)) < 0) {
				rc = die(q_errmsg());
				goto done;
			}
		}
		if (detok && q_detok_flush(&d, &out) < 0) {
			rc = die(q_errmsg());
			goto done;
		}
		fwrite(out.p ? out.p : "", 1, out.len, stdout);
		goto done;
	}
	if (bench > 0) {
		double *dt = calloc((size_t)bench, sizeof *dt);
		for (int r = 0; r < bench; r++) {
			ids.n = 0;
			double s = now();
			if (q_tok_encode(t, in.p ? in.p : "", in.len, flags, &ids) < 0) {
				rc = die(q_errmsg());
				free(dt);
				goto done;
			}
			dt[r] = now() - s;
		}
		qsort(dt, (size_t)bench, sizeof *dt, cmp_double);
		printf("bytes %zu ids %zu median_s %.4f mbps %.2f load_ms %.1f\n", in.len, ids.n, dt[bench / 2],
		       (double)in.len / 1e6 / dt[bench / 2], t_load * 1e3);
		free(dt);
		goto done;
	}
	if (jsonl) {
		char *p = in.p ? in.p : "";
		while (*p) {
			char *nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			cJSON *j = cJSON_Parse(p);
			if (!cJSON_IsString(j)) {
				cJSON_Delete(j);
				rc = die("--jsonl: a line is not a JSON string");
				goto done;
			}
			ids.n = 0;
			if (q_tok_encode(t, j->valuestring, strlen(j->valuestring), flags, &ids) < 0) {
				cJSON_Delete(j);
				rc = die(q_errmsg());
				goto done;
			}
			cJSON_Delete(j);
			print_ids(&ids);
			if (!nl)
				break;
			p = nl + 1;
		}
		goto done;
	}
	if (q_tok_encode(t, in.p ? in.p : "", in.len, flags, &ids) < 0) {
		rc = die(q_errmsg());
		goto done;
	}
	print_ids(&ids);
done:
	q_buf_free(&in);
	q_buf_free(&out);
	q_ids_free(&ids);
	q_tok_free(t);
	return rc;
usage:
	fprintf(stderr, "usage: tok-encode MODEL [--raw] [-d | --detok | --jsonl | --info | --bench N]\n");
	return 2;
}
