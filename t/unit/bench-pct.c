/*
 * bench-pct - q_bench_percentile on the numbers of each input line.
 *
 *   bench-pct < CASES
 *
 * Each line: P v1 v2 ... ; prints "P value" with %.9g, one line per case,
 * to be compared with numpy.percentile's (t/data/qeval/gen-pct-golden.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalbench.h"

int main(void)
{
	char line[65536];
	while (fgets(line, sizeof line, stdin)) {
		double v[4096], p;
		int n = 0;
		char *s = line, *end;
		p = strtod(s, &end);
		if (end == s)
			continue;
		for (s = end; n < 4096; s = end) {
			double x = strtod(s, &end);
			if (end == s)
				break;
			v[n++] = x;
		}
		printf("%.9g %.9g\n", p, q_bench_percentile(v, n, p));
	}
	return 0;
}
