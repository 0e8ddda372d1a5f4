/* buf.c - growable byte buffer and id vector (see buf.h). */
#include "buf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int q_buf_grow(q_buf *b, size_t extra)
{
	if (extra >= SIZE_MAX / 2 - b->len)
		return q_error("buffer size overflow");
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return q_error("out of memory (%zu bytes)", cap);
	b->p = p;
	b->cap = cap;
	return 0;
}

int q_buf_add(q_buf *b, const void *data, size_t n)
{
	if (q_buf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int q_buf_adds(q_buf *b, const char *s)
{
	return q_buf_add(b, s, strlen(s));
}

int q_buf_addc(q_buf *b, char c)
{
	return q_buf_add(b, &c, 1);
}

int q_buf_printf(q_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return q_error("bad format");
	if (q_buf_grow(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void q_buf_reset(q_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void q_buf_free(q_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *q_buf_detach(q_buf *b, size_t *len)
{
	if (!b->p && q_buf_grow(b, 0) < 0)
		return NULL;
	b->p[b->len] = '\0';
	char *p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

int q_ids_push(q_ids *a, int32_t id)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof *a->v)
			return q_error("id vector size overflow");
		int32_t *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return q_error("out of memory (%zu ids)", cap);
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = id;
	return 0;
}

void q_ids_free(q_ids *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int q_buf_read_fd(q_buf *b, int fd)
{
	for (;;) {
		if (q_buf_grow(b, 65536) < 0)
			return -1;
		ssize_t r = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return q_error("read:");
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
	}
	b->p[b->len] = '\0';
	return 0;
}

int q_buf_read_file(q_buf *b, const char *path)
{
	if (!strcmp(path, "-"))
		return q_buf_read_fd(b, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return q_error("%s:", path);
	int r = q_buf_read_fd(b, fd);
	if (r < 0)
		q_error("%s: %s", path, q_errmsg());
	close(fd);
	return r;
}
