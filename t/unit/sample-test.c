/*
 * sample-test - the sampling chain (lib/sample) and stop strings
 * (lib/stop) on hand-made inputs whose right answers are known exactly.
 * Prints TAP; exit 1 if any check fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "sample.h"
#include "stop.h"

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n_test, what);
}

#define V 8

/* Softmax of {3, 2.5, 2, 1, 0, -1, -2, -3}: p0 .43, p1 .26, p2 .16, p3 .06 ... */
static const float base[V] = {3, 2.5f, 2, 1, 0, -1, -2, -3};

static q_sampler *mk(q_sample_params *p)
{
	q_sampler *s = q_sampler_new(p, V);
	if (!s) {
		printf("Bail out! %s\n", q_errmsg());
		exit(1);
	}
	return s;
}

/* Draw n tokens from base with fresh logits each time; counts[id]++. */
static void draws(q_sampler *s, int n, int *counts)
{
	memset(counts, 0, V * sizeof *counts);
	for (int i = 0; i < n; i++) {
		float l[V];
		memcpy(l, base, sizeof l);
		int32_t id = q_sampler_sample(s, l);
		if (id >= 0 && id < V)
			counts[id]++;
	}
}

static void mask_all_but_5(void *ud, float *l, int n)
{
	(void)ud;
	for (int i = 0; i < n; i++)
		if (i != 5)
			l[i] = -INFINITY;
}

static void mask_all(void *ud, float *l, int n)
{
	(void)ud;
	for (int i = 0; i < n; i++)
		l[i] = -INFINITY;
}

static void test_sampler(void)
{
	q_sample_params p;
	int c[V];
	char msg[128];

	q_sample_defaults(&p);
	ok(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f && p.repeat_penalty == 1 &&
		   p.penalty_last_n == 64,
	   "defaults are llama.cpp's");

	p.temp = 0;
	q_sampler *s = mk(&p);
	float tie[V] = {1, 4, 2, 4, 0, 0, 0, 0};
	ok(q_sampler_sample(s, tie) == 1, "greedy: the first of two equal maxima");
	q_sampler_free(s);

	/* greedy over a vocabulary of many vector blocks and a tail: NaNs
	 * never win, the first of equal maxima does, wherever they lie */
	enum { BIG = 1000 };
	float *big = malloc(BIG * sizeof *big);
	s = q_sampler_new(&p, BIG);
	static const struct {
		int first, second;
	} at[] = {{997, 999}, {3, 500}, {16, 17}, {991, 992}, {0, 998}};
	int all = 1;
	for (size_t c = 0; c < sizeof at / sizeof at[0]; c++) {
		for (int i = 0; i < BIG; i++)
			big[i] = (float)((i * 7919) % 1000) / 1000.0f;
		big[1] = NAN, big[500 - 1] = NAN, big[BIG - 1 - (int)c] = -INFINITY;
		big[at[c].first] = big[at[c].second] = 5;
		big[at[c].first == 0 ? 2 : 0] = NAN;
		int32_t got = q_sampler_sample(s, big);
		if (got != at[c].first)
			printf("# greedy: maxima at %d and %d, got %d\n", at[c].first, at[c].second, (int)got);
		all &= got == at[c].first;
	}
	ok(all, "greedy over 1000 logits with NaNs: the first of two maxima (5 placements)");
	for (int i = 0; i < BIG; i++)
		big[i] = i % 3 ? -INFINITY : NAN;
	ok(q_sampler_sample(s, big) == -1 && strstr(q_errmsg(), "every token is masked"),
	   "greedy: nothing above -inf but NaNs is an error");
	q_sampler_free(s);
	free(big);

	q_sample_defaults(&p);
	p.temp = 1, p.top_k = 0, p.top_p = 1, p.min_p = 0, p.seed = 1;
	s = mk(&p);
	draws(s, 20000, c);
	double z = 0;
	for (int i = 0; i < V; i++)
		z += exp(base[i]);
	int close = 1;
	for (int i = 0; i < V; i++)
		close &= fabs(c[i] / 20000.0 - exp(base[i]) / z) < 0.01;
	ok(close, "temp 1, no filters: frequencies within 0.01 of the softmax over 20000 draws");
	q_sampler_free(s);

	p.top_k = 3;
	s = mk(&p);
	draws(s, 5000, c);
	ok(c[0] && c[1] && c[2] && c[0] + c[1] + c[2] == 5000, "top-k 3: only the 3 best ids, each drawn");
	q_sampler_free(s);

	p.top_k = 0, p.top_p = 0.8f;
	s = mk(&p);
	draws(s, 5000, c);
	/* cumulative .43, .69, .85: the third reaches 0.8 */
	ok(c[2] && c[0] + c[1] + c[2] == 5000, "top-p 0.8: the smallest set reaching 0.8 (3 ids)");
	q_sampler_free(s);

	p.top_p = 1, p.min_p = 0.3f;
	s = mk(&p);
	draws(s, 5000, c);
	/* p_i >= 0.3 p_0 <=> logit >= 3 + ln 0.3 = 1.796: ids 0, 1, 2 */
	ok(c[2] && c[0] + c[1] + c[2] == 5000, "min-p 0.3: ids within ln(0.3) of the best");
	q_sampler_free(s);

	p.min_p = 0, p.temp = 0.05f;
	s = mk(&p);
	draws(s, 1000, c);
	ok(c[0] == 1000, "temp 0.05: always the best id");
	q_sampler_free(s);

	q_sample_defaults(&p);
	p.seed = 99;
	q_sampler *a = mk(&p), *b = mk(&p);
	p.seed = 100;
	q_sampler *d = mk(&p);
	int same = 1, differ = 0;
	for (int i = 0; i < 200; i++) {
		float la[V], lb[V], ld[V];
		memcpy(la, base, sizeof la);
		memcpy(lb, base, sizeof lb);
		memcpy(ld, base, sizeof ld);
		int32_t x = q_sampler_sample(a, la), y = q_sampler_sample(b, lb), w = q_sampler_sample(d, ld);
		same &= x == y;
		differ |= x != w;
	}
	ok(same, "the same seed draws the same 200 tokens");
	ok(differ, "another seed draws other tokens");
	q_sampler_free(a);
	q_sampler_free(b);
	q_sampler_free(d);

	/* penalties, llama.cpp's formulas, applied once per distinct id */
	q_sample_defaults(&p);
	p.temp = 0, p.repeat_penalty = 2, p.penalty_last_n = 3;
	s = mk(&p);
	float l[V];
	memcpy(l, base, sizeof l);
	q_sampler_accept(s, 0);
	q_sampler_accept(s, 0);
	q_sampler_accept(s, 5);
	ok(q_sampler_sample(s, l) == 1 && l[0] == 1.5f && l[5] == -2 && l[1] == 2.5f,
	   "repeat penalty 2: positive logit halved, negative doubled, once per id");
	q_sampler_accept(s, 1);
	q_sampler_accept(s, 2);
	q_sampler_accept(s, 3); /* the window of 3 now holds 1 2 3: id 0 forgiven */
	memcpy(l, base, sizeof l);
	ok(q_sampler_sample(s, l) == 0 && l[0] == 3 && l[1] == 1.25f, "penalty window: tokens older than last_n are forgiven");
	q_sampler_free(s);

	q_sample_defaults(&p);
	p.temp = 0, p.presence_penalty = 0.25f, p.frequency_penalty = 0.5f;
	s = mk(&p);
	q_sampler_accept(s, 0);
	q_sampler_accept(s, 0);
	q_sampler_accept(s, 1);
	memcpy(l, base, sizeof l);
	q_sampler_sample(s, l);
	ok(l[0] == 3 - 2 * 0.5f - 0.25f && l[1] == 2.5f - 0.5f - 0.25f && l[2] == 2,
	   "presence and frequency penalties: logit - count * freq - presence");
	q_sampler_free(s);

	q_logit_bias bias[2] = {{0, -INFINITY}, {6, 10}};
	q_sample_defaults(&p);
	p.temp = 0, p.bias = bias, p.n_bias = 2;
	s = mk(&p);
	memcpy(l, base, sizeof l);
	ok(q_sampler_sample(s, l) == 6, "logit bias: +10 makes id 6 the best");
	bias[1].bias = 0; /* the sampler keeps its own copy */
	memcpy(l, base, sizeof l);
	ok(q_sampler_sample(s, l) == 6 && l[0] == -INFINITY, "logit bias is copied; -inf bans id 0");
	q_sampler_free(s);

	q_sample_defaults(&p);
	p.seed = 3;
	s = mk(&p);
	q_sampler_set_mask(s, mask_all_but_5, NULL);
	draws(s, 100, c);
	ok(c[5] == 100, "mask hook: only the allowed id is ever drawn");
	q_sampler_set_mask(s, mask_all, NULL);
	memcpy(l, base, sizeof l);
	ok(q_sampler_sample(s, l) == -1 && strstr(q_errmsg(), "every token is masked"), "everything masked: an error");
	q_sampler_free(s);

	q_sample_defaults(&p);
	p.temp = -1;
	ok(q_sample_check(&p, V) < 0 && strstr(q_errmsg(), "temperature -1 must be"), "check: negative temperature");
	q_sample_defaults(&p);
	p.top_p = 0;
	ok(q_sample_check(&p, V) < 0 && strstr(q_errmsg(), "top-p 0 must be in (0, 1]"), "check: top-p 0");
	p.top_p = 1.01f;
	ok(q_sample_check(&p, V) < 0, "check: top-p above 1");
	q_sample_defaults(&p);
	p.min_p = -0.1f;
	ok(q_sample_check(&p, V) < 0, "check: negative min-p");
	q_sample_defaults(&p);
	p.repeat_penalty = 0;
	ok(q_sample_check(&p, V) < 0, "check: repeat penalty 0");
	q_sample_defaults(&p);
	q_logit_bias out_of_range = {V, 1};
	p.bias = &out_of_range, p.n_bias = 1;
	snprintf(msg, sizeof msg, "logit bias for token %d outside the vocabulary of %d", V, V);
	ok(q_sample_check(&p, V) < 0 && strstr(q_errmsg(), msg), "check: biased id outside the vocabulary");
	ok(q_sampler_new(&p, V) == NULL, "q_sampler_new refuses bad parameters");
}

/* Feed pieces (NULL-terminated) and return what came out, "|" marking a
 * hit; flush at the end unless hit. */
static const char *feed(const char *const *stops, int n_stop, const char *const *pieces)
{
	static char res[256];
	q_stop st;
	q_buf out = Q_BUF_INIT;
	if (q_stop_init(&st, stops, n_stop) < 0)
		return "init failed";
	int hit = 0;
	for (int i = 0; pieces[i] && !hit; i++)
		hit = q_stop_feed(&st, pieces[i], strlen(pieces[i]), &out) == 1;
	if (!hit)
		q_stop_flush(&st, &out);
	snprintf(res, sizeof res, "%s%s", out.p ? out.p : "", hit ? "|" : "");
	q_buf_free(&out);
	q_stop_free(&st);
	return res;
}

static void test_stop(void)
{
	const char *world[] = {"world"};
	ok(!strcmp(feed(world, 1, (const char *[]){"Hello wor", "ld! more", NULL}), "Hello |"),
	   "stop string split across pieces: text before it, then a hit");
	ok(!strcmp(feed(world, 1, (const char *[]){"Hello", " wo", "rm", NULL}), "Hello worm"),
	   "a partial match that fails is passed on");
	const char *abc[] = {"abc"};
	q_stop st;
	q_buf out = Q_BUF_INIT;
	q_stop_init(&st, abc, 1);
	q_stop_feed(&st, "xxab", 4, &out);
	ok(out.len == 2 && !memcmp(out.p, "xx", 2), "the possible start 'ab' is held back");
	q_stop_feed(&st, "d", 1, &out);
	ok(out.len == 5 && !memcmp(out.p, "xxabd", 5), "released once it cannot complete");
	q_stop_free(&st);
	q_buf_free(&out);
	const char *aab[] = {"aab"};
	ok(!strcmp(feed(aab, 1, (const char *[]){"a", "a", "a", "b", NULL}), "a|"), "overlapping prefixes: 'aaab' stops after one 'a'");
	const char *two[] = {"park", "named Li"};
	ok(!strcmp(feed(two, 2, (const char *[]){"a girl named Lily in the park", NULL}), "a girl |"),
	   "two stop strings: the earliest in the text wins");
	ok(!strcmp(feed(abc, 1, (const char *[]){"xyz", "ab", NULL}), "xyzab"), "flush passes on the held-back tail");
	ok(!strcmp(feed(abc, 1, (const char *[]){"abc", NULL}), "|"), "a stop string at the very start: nothing passed on");
	ok(!strcmp(feed(NULL, 0, (const char *[]){"abc", "def", NULL}), "abcdef"), "no stop strings: everything passes");
	const char *empty[] = {""};
	ok(q_stop_init(&st, empty, 1) < 0 && strstr(q_errmsg(), "empty"), "an empty stop string is refused");
	const char *utf[] = {"\xc3\xa9t\xc3\xa9"}; /* "été" */
	ok(!strcmp(feed(utf, 1, (const char *[]){"un \xc3\xa9", "t\xc3", "\xa9 chaud", NULL}), "un |"),
	   "UTF-8 stop string split inside a character");
}

int main(void)
{
	test_sampler();
	test_stop();
	printf("1..%d\n", n_test);
	return n_fail != 0;
}
