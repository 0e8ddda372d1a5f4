/*
 * tmpl-render - test driver: render a chat template with JSON variables.
 *
 *   tmpl-render [--max-output N] [--max-memory N] [--max-steps N]
 *               [--max-calls N] TEMPLATE_FILE VARS.json
 *
 * Writes the rendering to stdout (bytes exactly).  Exit status 0, or 1 with
 * one line "tmpl-render: error: <why>" on stderr when reading, parsing or
 * rendering fails, 2 on a usage error.  VARS.json is read with
 * q_tmpl_json_parse() so that ints and floats stay apart as in Python.  The
 * --max-* options set q_tmpl_limits (0 or absent: the library default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tmpl.h"

static int fail(const char *msg)
{
	fprintf(stderr, "tmpl-render: error: %s\n", msg);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: tmpl-render [--max-output N] [--max-memory N] [--max-steps N] "
		"[--max-calls N] TEMPLATE_FILE VARS.json\n");
	return 2;
}

/* Parses a decimal count; 0 on success. */
static int count(const char *s, unsigned long long *v)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	q_tmpl_limits lim = {0};
	int i = 1;
	while (i + 1 < argc && !strncmp(argv[i], "--max-", 6)) {
		unsigned long long v;
		if (count(argv[i + 1], &v) < 0)
			return usage();
		if (!strcmp(argv[i], "--max-output"))
			lim.max_output = (size_t)v;
		else if (!strcmp(argv[i], "--max-memory"))
			lim.max_memory = (size_t)v;
		else if (!strcmp(argv[i], "--max-steps"))
			lim.max_steps = v;
		else if (!strcmp(argv[i], "--max-calls") && v <= 1000000)
			lim.max_calls = (int)v;
		else
			return usage();
		i += 2;
	}
	if (argc - i != 2)
		return usage();
	q_buf src = Q_BUF_INIT, js = Q_BUF_INIT, out = Q_BUF_INIT;
	int rc = 0;
	q_tmpl *t = NULL;
	cJSON *vars = NULL;
	if (q_buf_read_file(&src, argv[i]) < 0 || q_buf_read_file(&js, argv[i + 1]) < 0) {
		rc = fail(q_errmsg());
		goto done;
	}
	if (!(vars = q_tmpl_json_parse(js.p ? js.p : "", js.len))) {
		rc = fail(q_errmsg());
		goto done;
	}
	if (!(t = q_tmpl_parse(src.p ? src.p : "", src.len)) || q_tmpl_render_limits(t, vars, &out, &lim) < 0) {
		rc = fail(q_errmsg());
		goto done;
	}
	if (out.len && fwrite(out.p, 1, out.len, stdout) != out.len)
		rc = fail("write error");
	if (fflush(stdout) != 0)
		rc = fail("write error");
done:
	q_tmpl_free(t);
	cJSON_Delete(vars);
	q_buf_free(&src);
	q_buf_free(&js);
	q_buf_free(&out);
	return rc;
}
