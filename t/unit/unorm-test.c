/*
 * unorm-test FILE: each line of FILE is a JSON array [input, expected]; check
 * that q_unorm_nfc(input) == expected.  Prints "# N/M" and the first
 * mismatches; exit 0 only if all match.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "unorm.h"

int main(int argc, char **argv)
{
	q_buf in = Q_BUF_INIT, out = Q_BUF_INIT;
	if (argc != 2 || q_buf_read_file(&in, argv[1]) < 0) {
		fprintf(stderr, "usage: unorm-test FILE (%s)\n", q_errmsg());
		return 2;
	}
	size_t total = 0, good = 0, line = 0;
	for (char *p = in.p, *nl; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		line++;
		cJSON *a = cJSON_ParseWithLength(p, (size_t)(nl - p) + 1);
		cJSON *x = cJSON_GetArrayItem(a, 0), *y = cJSON_GetArrayItem(a, 1);
		if (!cJSON_IsString(x) || !cJSON_IsString(y)) {
			fprintf(stderr, "unorm-test: bad line %zu\n", line);
			return 2;
		}
		q_buf_reset(&out);
		if (q_unorm_nfc(x->valuestring, strlen(x->valuestring), &out) < 0)
			return 1;
		total++;
		if (out.len == strlen(y->valuestring) && !memcmp(out.p, y->valuestring, out.len))
			good++;
		else if (total - good <= 5)
			printf("# line %zu: got '%s' want '%s'\n", line, out.p, y->valuestring);
		cJSON_Delete(a);
	}
	printf("# NFC: %zu/%zu identical\n", good, total);
	q_buf_free(&in);
	q_buf_free(&out);
	return good == total && total > 0 ? 0 : 1;
}
