/*
 * buf.h - growable byte buffer.
 *
 * Invariant: b->p is NULL (len == cap == 0) or points to cap bytes of which
 * len are used, and p[len] == '\0' is always kept so the buffer can be read as
 * a C string.  Appending may move p: never keep a pointer into it across an
 * append.  Allocation failure is reported (-1 + q_error), never aborted.
 */
#ifndef Q_BUF_H
#define Q_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct q_buf {
	char *p;
	size_t len, cap;
} q_buf;

#define Q_BUF_INIT {0, 0, 0}

int q_buf_grow(q_buf *b, size_t extra);                 /* room for extra more bytes */
int q_buf_add(q_buf *b, const void *data, size_t n);
int q_buf_adds(q_buf *b, const char *s);
int q_buf_addc(q_buf *b, char c);
int q_buf_printf(q_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void q_buf_reset(q_buf *b);                             /* len = 0, keeps memory */
void q_buf_free(q_buf *b);
/* Hands the bytes to the caller (free() them) and leaves b empty. */
char *q_buf_detach(q_buf *b, size_t *len);

/* Growable vector of token ids, same rules as q_buf. */
typedef struct q_ids {
	int32_t *v;
	size_t n, cap;
} q_ids;

#define Q_IDS_INIT {0, 0, 0}

int q_ids_push(q_ids *a, int32_t id);
void q_ids_free(q_ids *a);

/* Read a whole file (or stdin when path is "-") into b.  -1 + q_error. */
int q_buf_read_file(q_buf *b, const char *path);
int q_buf_read_fd(q_buf *b, int fd);

#endif
