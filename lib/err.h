/*
 * err.h - how lib/ reports failure.
 *
 * Invariant: no function in lib/ prints or exits on bad input. A function that
 * fails records one line of text with q_error() and returns -1 (or NULL).
 * The caller (bin/) prints it as "tool: error: <message>".  The message lives
 * in thread-local storage and is valid until the next q_error() on the thread.
 */
#ifndef Q_ERR_H
#define Q_ERR_H

#if defined(__GNUC__)
#define Q_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define Q_PRINTF(a, b)
#endif

/* Record a formatted message; always returns -1 so that callers can write
 * `return q_error("...")`. A message ending in ':' gets ": strerror(errno)". */
int q_error(const char *fmt, ...) Q_PRINTF(1, 2);

/* Put "ctx: " in front of the last message unless it already starts with
 * ctx (a file name that a lower layer already named); returns -1. */
int q_error_context(const char *ctx);

/* The last message recorded on this thread ("" if none). */
const char *q_errmsg(void);

#endif
