/*
 * cli.h - what every tool in bin/ does the same way: report an error as one
 * line "TOOL: error: <what>" and exit 1 (runtime) or 2 (usage).  Only bin/
 * exits; lib/ returns errors (see lib/err.h).
 */
#ifndef Q_CLI_H
#define Q_CLI_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"

static const char *cli_name = "q";

__attribute__((format(printf, 2, 3), noreturn))
static void cli_fail(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: error: ", cli_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Runtime failure of a lib/ call: print its message and exit 1. */
__attribute__((noreturn)) static void cli_die_lib(const char *what)
{
	if (what)
		cli_fail(1, "%s: %s", what, q_errmsg());
	cli_fail(1, "%s", q_errmsg());
}

/* Write all of buf to stdout; a closed pipe or full disk is an error. */
static inline void cli_write(const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, stdout) != n)
		cli_fail(1, "write to stdout failed");
}

static void cli_version(void)
{
	printf("%s (q) %s\n", cli_name, Q_VERSION);
	exit(0);
}

/* A whole decimal integer in [lo, hi], or exit 2 naming the option. */
static inline long cli_long(const char *name, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno == ERANGE || v < lo || v > hi)
		cli_fail(2, "%s '%s': want an integer in [%ld, %ld]", name, s, lo, hi);
	return v;
}

/* A finite number, or exit 2 naming the option. */
static inline float cli_float(const char *name, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno == ERANGE || !isfinite(v))
		cli_fail(2, "%s '%s': not a number", name, s);
	return (float)v;
}

/* getopt_long (with opterr = 0) returned '?' or ':' for argv[optind - 1]. */
__attribute__((noreturn)) static void cli_bad_option(int c, int optopt_, const char *arg)
{
	if (c == ':')
		cli_fail(2, "option '%s' needs a value (see %s -h)", arg, cli_name);
	if (optopt_)
		cli_fail(2, "unknown option '-%c' (see %s -h)", optopt_, cli_name);
	cli_fail(2, "unknown option '%s' (see %s -h)", arg, cli_name);
}

#endif
