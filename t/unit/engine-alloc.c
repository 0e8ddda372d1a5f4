/*
 * engine-alloc - no allocation in the per-token loop.
 *
 *   engine-alloc MODEL N
 *
 * Linked with -Wl,--wrap for malloc, calloc, realloc, aligned_alloc and
 * posix_memalign (Makefile), so every call from libq / libqk to one of
 * them is counted here before it goes on to the real one.  Four requests
 * (greedy and sampled, with stop strings and penalties, prompts of
 * different lengths) run together in one engine; once every request has
 * sampled its first token, the engine steps until all are done, and no
 * allocation may happen in those steps.  The generated text goes into a
 * fixed buffer, so the driver itself allocates nothing there either.
 *
 * Prints "steps S tokens T allocations A" for the counted steps and the
 * same for the steps before; exits 1 when A != 0 or fewer than N / 2 tokens
 * were counted, 2 when the driver itself failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tok.h"

#include "engine-open.h"

static long n_alloc;

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
	n_alloc++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
	n_alloc++;
	return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
	n_alloc++;
	return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
	n_alloc++;
	return __real_aligned_alloc(a, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
	n_alloc++;
	return __real_posix_memalign(p, a, n);
}

#define NREQ 4

typedef struct out {
	char text[1 << 14];
	size_t n;
	int n_tok, done;
} out;

static int on_text(void *ud, const char *s, size_t n)
{
	out *o = ud;
	if (n > sizeof o->text - o->n)
		n = sizeof o->text - o->n;
	memcpy(o->text + o->n, s, n);
	o->n += n;
	return 0;
}

static int on_token(void *ud, int32_t id)
{
	(void)id;
	((out *)ud)->n_tok++;
	return 0;
}

static void on_done(void *ud, const q_result *r)
{
	(void)r;
	((out *)ud)->done = 1;
}

int main(int argc, char **argv)
{
	prog = "engine-alloc";
	if (argc != 3) {
		fprintf(stderr, "usage: engine-alloc MODEL N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	static const char *prompts[NREQ] = {
		"Once upon a time",
		"The little dog ran to the park and saw a big tree. He",
		"Lily and Tom",
		"One day, a little boy named Tim went to the store with his mom. They wanted to buy",
	};
	static const char *stops[] = {"zebra crossing", "qqq"};
	q_gguf *g;
	q_tok *tok;
	qk_backend *be;
	q_model *m;
	open_model(argv[1], &g, &tok, &be, &m);
	q_engine_config c = Q_ENGINE_CONFIG_INIT;
	c.max_seqs = NREQ;
	c.n_ctx = 512;
	c.batch_tokens = 16; /* the long prompts take several chunked steps */
	q_engine *e = q_engine_new(m, tok, be, &c);
	if (!e)
		die("engine");
	static out o[NREQ];
	q_ids ids[NREQ];
	for (int i = 0; i < NREQ; i++) {
		ids[i] = (q_ids)Q_IDS_INIT;
		if (q_tok_encode(tok, prompts[i], strlen(prompts[i]), Q_TOK_ADD_SPECIAL, &ids[i]) < 0)
			die("encode");
		q_req r = {.prompt = ids[i].v, .n_prompt = (int)ids[i].n, .n_predict = n, .stop = stops,
			   .n_stop = 2, .on_text = on_text, .on_token = on_token, .on_done = on_done, .ud = &o[i]};
		q_sample_defaults(&r.sample);
		if (i % 2) {
			r.sample.temp = 0;
		} else {
			r.sample.seed = (uint64_t)i + 1;
			r.sample.repeat_penalty = 1.1f;
			r.sample.presence_penalty = 0.2f;
			r.sample.frequency_penalty = 0.1f;
		}
		if (q_engine_add(e, &r) < 0)
			die("add");
	}
	long steps0 = 0, steps = 0;
	int all_started = 0;
	while (!all_started) {
		if (q_engine_step(e) < 0)
			die("step");
		steps0++;
		all_started = 1;
		for (int i = 0; i < NREQ; i++)
			all_started &= o[i].n_tok > 0 || o[i].done;
	}
	long before = n_alloc;
	int tok0 = 0, tok1 = 0, left;
	for (int i = 0; i < NREQ; i++)
		tok0 += o[i].n_tok;
	while ((left = q_engine_step(e)) > 0)
		steps++;
	if (left < 0)
		die("step");
	long during = n_alloc - before;
	for (int i = 0; i < NREQ; i++)
		tok1 += o[i].n_tok;
	printf("before: steps %ld allocations %ld\n", steps0, before);
	printf("steps %ld tokens %d allocations %ld\n", steps + 1, tok1 - tok0, during);
	for (int i = 0; i < NREQ; i++) {
		printf("%d: %d tokens: ", i, o[i].n_tok);
		fwrite(o[i].text, 1, o[i].n, stdout);
		putchar('\n');
		q_ids_free(&ids[i]);
	}
	q_engine_free(e);
	close_model(g, tok, be, m);
	return during != 0 || tok1 - tok0 < n / 2;
}
