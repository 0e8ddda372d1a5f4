/* err.c - thread-local last-error message (see err.h). */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg[1024];

int q_error(const char *fmt, ...)
{
	int saved = errno;
	char tmp[sizeof msg]; /* the arguments may point into msg itself */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	size_t n = strlen(tmp);
	if (n > 0 && tmp[n - 1] == ':')
		snprintf(tmp + n, sizeof tmp - n, " %s", strerror(saved));
	memcpy(msg, tmp, sizeof msg);
	errno = saved;
	return -1;
}

int q_error_context(const char *ctx)
{
	if (strncmp(msg, ctx, strlen(ctx)) != 0)
		q_error("%s: %s", ctx, msg);
	return -1;
}

const char *q_errmsg(void)
{
	return msg;
}
