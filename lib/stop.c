/*
 * stop.c - stop-string matching over streamed text (see stop.h).
 *
 * Invariant: held never contains a whole stop string, and every byte
 * position of the stream before held has been ruled out as the start of
 * a stop string: held is the longest suffix of the text so far that is a
 * proper prefix of some stop string (or empty after a hit).
 */
#include "stop.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int q_stop_init(q_stop *st, const char *const *strs, int n)
{
	memset(st, 0, sizeof *st);
	if (n < 0)
		return q_error("stop strings: count %d", n);
	if (n == 0)
		return 0;
	st->s = calloc((size_t)n, sizeof *st->s);
	st->len = calloc((size_t)n, sizeof *st->len);
	if (!st->s || !st->len) {
		q_stop_free(st);
		return q_error("out of memory");
	}
	size_t max = 0;
	for (int i = 0; i < n; i++) {
		if (!strs[i] || !strs[i][0]) {
			q_stop_free(st);
			return q_error("stop string %d is empty", i + 1);
		}
		st->s[i] = strdup(strs[i]);
		st->n = i + 1;
		if (!st->s[i]) {
			q_stop_free(st);
			return q_error("out of memory");
		}
		st->len[i] = strlen(strs[i]);
		max = st->len[i] > max ? st->len[i] : max;
	}
	if (q_buf_grow(&st->held, 2 * max + 64) < 0) {
		q_stop_free(st);
		return -1;
	}
	return 0;
}

void q_stop_free(q_stop *st)
{
	for (int i = 0; i < st->n; i++)
		free(st->s[i]);
	free(st->s);
	free(st->len);
	q_buf_free(&st->held);
	memset(st, 0, sizeof *st);
}

/* Length of the longest suffix of h[0..n) that is a proper prefix of a
 * stop string. */
static size_t partial_tail(const q_stop *st, const char *h, size_t n)
{
	size_t best = 0;
	for (int i = 0; i < st->n; i++) {
		size_t k = st->len[i] - 1 < n ? st->len[i] - 1 : n;
		for (; k > best; k--)
			if (!memcmp(h + n - k, st->s[i], k)) {
				best = k;
				break;
			}
	}
	return best;
}

/* Append, look for the earliest complete stop string, else pass on all
 * but the partial tail. */
int q_stop_feed(q_stop *st, const char *p, size_t n, q_buf *out)
{
	if (st->hit)
		return 1;
	if (st->n == 0)
		return q_buf_add(out, p, n) < 0 ? -1 : 0;
	if (q_buf_add(&st->held, p, n) < 0)
		return -1;
	const char *h = st->held.p;
	size_t hl = st->held.len, cut = hl;
	for (int i = 0; i < st->n; i++) {
		const char *m = memmem(h, cut + st->len[i] - 1 < hl ? cut + st->len[i] - 1 : hl, st->s[i], st->len[i]);
		if (m && (size_t)(m - h) < cut)
			cut = (size_t)(m - h);
	}
	if (cut < hl) {
		st->hit = 1;
		int r = q_buf_add(out, h, cut);
		q_buf_reset(&st->held);
		return r < 0 ? -1 : 1;
	}
	size_t keep = partial_tail(st, h, hl);
	if (q_buf_add(out, h, hl - keep) < 0)
		return -1;
	memmove(st->held.p, h + hl - keep, keep);
	st->held.len = keep;
	st->held.p[keep] = '\0';
	return 0;
}

int q_stop_flush(q_stop *st, q_buf *out)
{
	if (st->hit || st->held.len == 0)
		return 0;
	int r = q_buf_add(out, st->held.p, st->held.len);
	q_buf_reset(&st->held);
	return r;
}
