/*
 * auth.c - API key digests and token buckets (see auth.h).
 *
 * Invariants: digest[i] is the 32-byte generichash of key i; bucket[i] is
 * key i's bucket, bucket[n_keys] the shared one used without keys.  A
 * bucket holds at most rpm tokens and refills rpm / 60 a second.
 */
#include "auth.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "clock.h"
#include "err.h"

#define DIGEST 32

typedef struct bucket {
	double tokens, t;
} bucket;

struct q_auth {
	pthread_mutex_t mu;
	unsigned char (*digest)[DIGEST];
	bucket *bucket;        /* [n_keys + 1] */
	int n_keys;
	double rpm;
};

q_auth *q_auth_new(double rpm)
{
	if (sodium_init() < 0)
		return q_error("cannot initialize libsodium"), NULL;
	q_auth *a = calloc(1, sizeof *a);
	if (!a || !(a->bucket = calloc(1, sizeof *a->bucket))) {
		free(a);
		return q_error("out of memory"), NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	a->rpm = rpm;
	a->bucket[0] = (bucket){rpm, q_clock()};
	return a;
}

void q_auth_free(q_auth *a)
{
	if (!a)
		return;
	sodium_memzero(a->digest, (size_t)a->n_keys * DIGEST);
	free(a->digest);
	free(a->bucket);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int q_auth_add_key(q_auth *a, const char *key, size_t n)
{
	if (n == 0)
		return q_error("empty API key");
	for (size_t i = 0; i < n; i++)
		if (iscntrl((unsigned char)key[i]))
			return q_error("API key contains a control character");
	unsigned char(*d)[DIGEST] = realloc(a->digest, (size_t)(a->n_keys + 1) * DIGEST);
	if (!d)
		return q_error("out of memory");
	a->digest = d;
	bucket *b = realloc(a->bucket, (size_t)(a->n_keys + 2) * sizeof *b);
	if (!b)
		return q_error("out of memory");
	a->bucket = b;
	crypto_generichash(a->digest[a->n_keys], DIGEST, (const unsigned char *)key, n, NULL, 0);
	a->bucket[a->n_keys + 1] = a->bucket[a->n_keys]; /* the shared one stays last */
	a->bucket[a->n_keys] = (bucket){a->rpm, q_clock()};
	a->n_keys++;
	return 0;
}

int q_auth_load_file(q_auth *a, const char *path)
{
	q_buf b = Q_BUF_INIT;
	if (q_buf_read_file(&b, path) < 0)
		return -1;
	int n0 = a->n_keys, rc = 0;
	for (char *s = b.p; s && *s && rc == 0;) {
		char *nl = strchr(s, '\n');
		char *e = nl ? nl : s + strlen(s);
		while (s < e && isspace((unsigned char)*s))
			s++;
		char *t = e;
		while (t > s && isspace((unsigned char)t[-1]))
			t--;
		if (t > s && *s != '#')
			rc = q_auth_add_key(a, s, (size_t)(t - s));
		s = nl ? nl + 1 : e;
	}
	sodium_memzero(b.p, b.len);
	q_buf_free(&b);
	if (rc < 0)
		return q_error_context(path);
	if (a->n_keys == n0)
		return q_error("%s: no API key in the file", path);
	return 0;
}

int q_auth_n_keys(const q_auth *a)
{
	return a->n_keys;
}

int q_auth_check(q_auth *a, const char *authorization)
{
	if (a->n_keys == 0)
		return Q_AUTH_OPEN;
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return Q_AUTH_DENIED;
	const char *k = authorization + 7;
	while (*k == ' ')
		k++;
	unsigned char d[DIGEST];
	crypto_generichash(d, DIGEST, (const unsigned char *)k, strlen(k), NULL, 0);
	int slot = Q_AUTH_DENIED;
	for (int i = 0; i < a->n_keys; i++) /* every digest compared: no early exit */
		if (sodium_memcmp(d, a->digest[i], DIGEST) == 0)
			slot = i;
	return slot;
}

int q_auth_take(q_auth *a, int slot)
{
	if (a->rpm <= 0)
		return 0;
	pthread_mutex_lock(&a->mu);
	bucket *b = &a->bucket[slot >= 0 && slot < a->n_keys ? slot : a->n_keys];
	double t = q_clock(), rate = a->rpm / 60.0;
	b->tokens += (t - b->t) * rate;
	if (b->tokens > a->rpm)
		b->tokens = a->rpm;
	b->t = t;
	int wait = 0;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (int)ceil((1 - b->tokens) / rate);
	pthread_mutex_unlock(&a->mu);
	return wait > 0 ? wait : 0;
}
