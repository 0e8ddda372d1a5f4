/*
 * stop.h - stop strings over streamed text.
 *
 * Text arrives in pieces (one token's worth at a time); a stop string may
 * be split across pieces.  q_stop_feed passes on only text that cannot be
 * the start of a stop string, holding back the longest tail that is a
 * prefix of one; when a stop string completes, the text before it is
 * passed on and it and everything after it are dropped.
 *
 * A q_stop owns copies of its strings; feeding allocates only when a piece
 * is longer than any seen before (the held-back buffer grows).
 */
#ifndef Q_STOP_H
#define Q_STOP_H

#include <stddef.h>

#include "buf.h"

typedef struct q_stop {
	char **s;              /* n stop strings (non-empty, NUL-terminated) */
	size_t *len;
	int n;
	q_buf held;            /* text received but not yet passed on */
	int hit;               /* a stop string was found */
} q_stop;

/* Copy the n strings (none may be empty).  -1 + q_error. */
int q_stop_init(q_stop *st, const char *const *strs, int n);
void q_stop_free(q_stop *st);
/* Append piece p[0..n) and add to out what may be emitted now.  Returns 1
 * when a stop string completed (out has the text before it; later calls
 * add nothing), 0 otherwise, -1 + q_error on allocation failure. */
int q_stop_feed(q_stop *st, const char *p, size_t n, q_buf *out);
/* End of the stream: add the held-back text to out (nothing after a hit). */
int q_stop_flush(q_stop *st, q_buf *out);

#endif
