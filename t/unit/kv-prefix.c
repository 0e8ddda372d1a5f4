/*
 * kv-prefix - the KV pool's prefix index under random use, with a good
 * hash and with hashes that collide on purpose.
 *
 *   kv-prefix HASH ITERATIONS
 *
 * HASH: siphash (libsodium's, as lib/kv.c uses it), few (8 distinct keys)
 * or one (every block the same key: one probe run holds the whole index).
 * lib/kv.c is compiled into this driver with crypto_shorthash replaced, so
 * the code under test is the real one.  Four sequences over a pool of 12
 * two-token blocks draw prompts from a two-token alphabet (many shared
 * prefixes) and, at random: start (attach what the index has), compute a
 * few positions (reserve, publish some full blocks), get preempted (clear,
 * attach again) or end.  A shadow copy records, per block, the tokens of
 * the prefix it was computed for, and every attached block must hold
 * exactly the attaching sequence's prefix; no computed position may land
 * in a shared or indexed block; and every 1000 steps the pool's invariants
 * (kv.c's comment) are checked in full.  Prints the counts; exits 1 at the
 * first violation.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hash_kind;

/* Replaces crypto_shorthash in lib/kv.c below. */
static int test_hash(unsigned char *out, const unsigned char *in, unsigned long long n, const unsigned char *k)
{
	uint64_t h = 0;
	if (hash_kind == 0)
		return crypto_shorthash(out, in, n, k);
	if (hash_kind == 1)
		for (unsigned long long i = 0; i < n; i++)
			h = (h * 31 + in[i]) & 7;
	memcpy(out, &h, sizeof h);
	return 0;
}

#define crypto_shorthash test_hash
#include "../../lib/kv.c"
#undef crypto_shorthash

#define NS 4
#define BS 2
#define NB 12
#define MAXP 16

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static int fail(long it, const char *what)
{
	printf("step %ld: %s\n", it, what);
	return 1;
}

/* The invariants at the top of lib/kv.c; NULL or what is broken. */
static const char *check(const q_kv *kv)
{
	int held[NB] = {0}, on_free[NB] = {0}, on_lru[NB] = {0};
	for (int s = 0; s < kv->c.max_seqs; s++)
		for (int i = 0; kv->live[s] && i < kv->n_held[s]; i++)
			held[kv->host_table[(size_t)s * (size_t)kv->c.max_blocks + (size_t)i]]++;
	for (int64_t i = 0; i < kv->n_free; i++)
		on_free[kv->free[i]]++;
	int64_t n_lru = 0, n_slots = 0, n_indexed = 0;
	for (int32_t b = kv->lru_head; b >= 0; b = kv->lru_next[b], n_lru++)
		on_lru[b]++;
	if (n_lru != kv->n_lru)
		return "LRU length";
	for (uint64_t i = 0; i <= kv->mask; i++) {
		int32_t b = kv->slot[i];
		if (b < 0)
			continue;
		n_slots++;
		if (!kv->indexed[b])
			return "an index slot holds a block not marked indexed";
		for (uint64_t j = kv->hkey[b] & kv->mask; j != i; j = (j + 1) & kv->mask)
			if (kv->slot[j] < 0)
				return "a gap between a block's home slot and its slot";
	}
	for (int b = 0; b < NB; b++) {
		n_indexed += kv->indexed[b];
		if (held[b] != kv->ref[b])
			return "a reference count differs from the tables holding the block";
		if ((on_free[b] != 0) + (on_lru[b] != 0) + (held[b] != 0) != 1 || on_free[b] > 1 || on_lru[b] > 1)
			return "a block is not in exactly one of free, cached, held";
		if ((on_free[b] && kv->indexed[b]) || (on_lru[b] && !kv->indexed[b]))
			return "a free block indexed, or a cached one not";
	}
	return n_indexed == n_slots ? NULL : "indexed blocks and index slots differ";
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kv-prefix siphash|few|one ITERATIONS\n");
		return 2;
	}
	hash_kind = !strcmp(argv[1], "few") ? 1 : !strcmp(argv[1], "one") ? 2 : 0;
	long iters = atol(argv[2]);
	qk_backend *be = qk_cpu_new(1, NULL);
	q_kv_config c = {.n_layer = 1, .n_kv_head = 1, .head_dim = 2, .block_size = BS, .n_blocks = NB,
			 .max_seqs = NS, .max_blocks = MAXP / BS, .type = QK_F32};
	q_kv *kv = be ? q_kv_new(be, &c) : NULL;
	if (!kv) {
		fprintf(stderr, "kv-prefix: %s\n", q_errmsg());
		return 2;
	}
	int32_t shadow[NB][MAXP], tok[NS][MAXP];
	int shadow_len[NB] = {0}, seq[NS], past[NS], pub[NS];
	long hits = 0, pubs = 0, swaps = 0;
	for (int s = 0; s < NS; s++)
		seq[s] = -1;
	for (long it = 0; it < iters; it++) {
		int s = (int)(rnd() % NS), op = (int)(rnd() % 10);
		if (seq[s] >= 0 && op < 5) { /* compute 1..3 positions, publish some full blocks */
			int want = 1 + (int)(rnd() % 3);
			want = past[s] + want > MAXP ? MAXP - past[s] : want;
			if (want <= 0 || q_kv_seq_reserve(kv, seq[s], past[s] + want) != 0)
				continue;
			const int32_t *row = kv->host_table + (size_t)seq[s] * (size_t)c.max_blocks;
			for (int p = past[s]; p < past[s] + want; p++) {
				int32_t b = row[p / BS];
				if (kv->indexed[b] || kv->ref[b] != 1)
					return fail(it, "a position computed into a shared or indexed block");
				memcpy(shadow[b], tok[s], (size_t)(p + 1) * sizeof **tok);
				shadow_len[b] = p + 1;
			}
			past[s] += want;
			while ((pub[s] + 1) * BS <= past[s] && rnd() % 4) {
				int32_t before = row[pub[s]];
				if (q_kv_seq_publish(kv, seq[s], pub[s], tok[s] + pub[s] * BS) < 0)
					return fail(it, q_errmsg());
				swaps += row[pub[s]] != before;
				pub[s]++;
				pubs++;
			}
		} else if (seq[s] >= 0 && op == 7) { /* end */
			q_kv_seq_free(kv, seq[s]);
			seq[s] = -1;
		} else if (seq[s] < 0 || op < 7) { /* start, or preempted: attach */
			if (seq[s] < 0) {
				seq[s] = q_kv_seq_new(kv);
				for (int i = 0; i < MAXP; i++)
					tok[s][i] = (int32_t)(rnd() % 2);
			} else {
				q_kv_seq_clear(kv, seq[s]);
			}
			int n = q_kv_seq_attach(kv, seq[s], tok[s], (int)(rnd() % (MAXP / BS + 1)));
			const int32_t *row = kv->host_table + (size_t)seq[s] * (size_t)c.max_blocks;
			for (int k = 0; k < n; k++)
				if (shadow_len[row[k]] != (k + 1) * BS ||
				    memcmp(shadow[row[k]], tok[s], (size_t)(k + 1) * BS * sizeof **tok))
					return fail(it, "an attached block holds another prefix");
			hits += n;
			past[s] = n * BS;
			pub[s] = n;
		}
		const char *bad = it % 1000 == 0 ? check(kv) : NULL;
		if (bad)
			return fail(it, bad);
	}
	const char *bad = check(kv);
	if (bad)
		return fail(iters, bad);
	printf("%s: blocks attached %ld published %ld deduplicated %ld evicted %lld\n", argv[1], hits, pubs, swaps,
	       (long long)q_kv_n_evicted(kv));
	q_kv_free(kv);
	qk_backend_free(be);
	return 0;
}
