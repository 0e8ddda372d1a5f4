/*
 * t/fuzz/tmpl.c - libFuzzer target for lib/tmpl (the chat-template
 * interpreter).
 *
 * The input is template source, any bytes.  It is parsed; when it parses it
 * is rendered with a fixed set of variables (messages with tool calls, tools,
 * unicode and control characters, ints and floats) under tight limits so
 * that each input runs in milliseconds.  Expectations, each a trap when
 * broken: a failed parse or render leaves exactly one message of the form
 * "template line N: ..." with 1 <= N <= lines in the input + 1; a failed
 * render leaves the output buffer as it was; a successful one stays within
 * the output limit.  Leaks and memory errors are the sanitizers' to report.
 */
#include "err.h"
#include "tmpl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const char vars_json[] =
	"{\"messages\": ["
	"{\"role\": \"system\", \"content\": \"You are \\\"helpful\\\".\\nBe brief.\"},"
	"{\"role\": \"user\", \"content\": \"H\\u00e9llo \\u65e5\\u672c \\ud83d\\ude00 {{ x }} \\u0001\"},"
	"{\"role\": \"assistant\", \"content\": \"<think>\\nhmm\\n</think>\\n\\nok\", \"reasoning_content\": null,"
	" \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"a\": 1, \"b\": 1.0, \"c\": [true, null]}}},"
	" {\"name\": \"g\", \"arguments\": \"{\\\"x\\\": 2}\"}]},"
	"{\"role\": \"tool\", \"content\": \"42\"},"
	"{\"role\": \"user\", \"content\": \"\"}],"
	" \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
	" \"parameters\": {\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}}}}}],"
	" \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
	" \"enable_thinking\": false, \"n\": 7, \"f\": 2.5, \"big\": 9007199254740993, \"neg\": -0.0,"
	" \"d\": {\"k\": \"v\", \"items\": [1, 2, 3], \"nested\": {\"deep\": [[[]]]}}}";

static cJSON *vars;

/* Lines in the input, counted as the lexer does (\n, \r\n, \r). */
static int count_lines(const uint8_t *d, size_t n)
{
	int lines = 1;
	for (size_t i = 0; i < n; i++)
		if (d[i] == '\n' || (d[i] == '\r' && !(i + 1 < n && d[i + 1] == '\n')))
			lines++;
	return lines;
}

/* The current error message must be "template line N: ..." with N in range. */
static void check_msg(int max_line)
{
	const char *m = q_errmsg();
	int line = 0, used = 0;
	CHECK(sscanf(m, "template line %d: %n", &line, &used) == 1 && used > 0);
	CHECK(line >= 1 && line <= max_line);
	CHECK(!strchr(m, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vars) {
		vars = q_tmpl_json_parse(vars_json, sizeof vars_json - 1);
		CHECK(vars);
	}
	int lines = count_lines(data, size);
	q_tmpl *t = q_tmpl_parse((const char *)data, size);
	if (!t) {
		check_msg(lines);
		return 0;
	}
	q_tmpl_limits lim = {.max_output = 1 << 20, .max_memory = 32 << 20, .max_steps = 200000, .max_calls = 50};
	q_buf out = Q_BUF_INIT;
	CHECK(q_buf_adds(&out, "prefix") == 0);
	if (q_tmpl_render_limits(t, vars, &out, &lim) < 0) {
		check_msg(lines);
		CHECK(out.len == 6 && memcmp(out.p, "prefix", 7) == 0);
	} else {
		CHECK(out.len >= 6 && out.len - 6 <= lim.max_output);
		CHECK(out.p[out.len] == 0);
	}
	q_buf_free(&out);
	q_tmpl_free(t);
	return 0;
}
