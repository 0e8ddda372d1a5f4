/*
 * compare.h - two models' answers (lib/outputs.h) paired by custom_id and
 * rated blind: qeval compare.
 *
 * A rating sheet is JSONL, one line per pair in A's order:
 *   {"item": K, "first": TEXT, "second": TEXT, "rating": ""}
 * where the side shown first is A or B at random (seeded or from libsodium);
 * the rater sets "rating" to "first", "second" or "tie".  The key, in a
 * separate file so the sheet can be handed out, says which side was A:
 *   {"item": K, "custom_id": ID, "first": "A"|"B"}
 * Items are numbered 1..N in both files.
 */
#ifndef Q_COMPARE_H
#define Q_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "outputs.h"

typedef struct q_pair {
	const q_output *a, *b; /* both have text */
} q_pair;

typedef struct q_pairs {
	q_pair *v;
	size_t n;
	size_t only_a, only_b, failed; /* left out: an id on one side only, or a failed answer on either */
} q_pairs;

/* Pair a and b by id (a's order).  -1 + q_error on memory. */
int q_pairs_make(const q_outputs *a, const q_outputs *b, q_pairs *out);
void q_pairs_free(q_pairs *p);

/* Write the blinded sheet and its key (two different paths).  seed NULL:
 * sides from libsodium's randombytes; else reproducible from *seed.
 * -1 + q_error "PATH: why". */
int q_sheet_write(const q_pairs *p, const char *sheet, const char *key, const uint64_t *seed);

typedef struct q_tally {
	size_t a, b, tie;       /* A preferred, B preferred, ties */
	size_t first, second;   /* how often the rater chose the side shown first / second */
} q_tally;

/* Read a filled-in sheet and its key; every item of the key must be rated
 * exactly once ("first", "second" or "tie", any case).  -1 + q_error
 * "PATH:LINE: why". */
int q_ratings_read(const char *ratings, const char *key, q_tally *t);

/* Two-sided exact sign test: P of a split at least as uneven as a:b under
 * Binomial(a + b, 1/2) (ties are left out before); 1 when a + b == 0. */
double q_sign_test(size_t a, size_t b);

#endif
