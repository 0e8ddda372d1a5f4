#!/usr/bin/env python3
"""gen-pct-golden.py - percentile cases and numpy's answers for qeval bench's
q_bench_percentile (t/t6020-qeval-bench.t via t/unit/bench-pct).

    python3 t/data/qeval/gen-pct-golden.py   # writes pct-cases.txt, pct-golden.txt

numpy.percentile with its default method ("linear"), as vLLM's benchmark
computes p50/p90/p99.  Cases: fixed small sets (one value, two, ties,
unsorted) and seeded random sets of 1..200 values at p = 0, 1, 50, 90, 99,
99.9, 100.  numpy 2.4.6.
"""
import os
import random

import numpy as np

d = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(6020)
cases = [[7.0], [1.0, 2.0], [3.0, 1.0, 2.0], [5.0, 5.0, 5.0, 1.0], [10.0, -2.5, 3.25, 8.0, 0.0]]
for n in (3, 10, 37, 100, 200):
    cases.append([round(rng.expovariate(0.02), 6) for _ in range(n)])
with open(os.path.join(d, "pct-cases.txt"), "w") as fc, open(os.path.join(d, "pct-golden.txt"), "w") as fg:
    for vals in cases:
        for p in (0, 1, 50, 90, 99, 99.9, 100):
            fc.write("%r %s\n" % (p, " ".join(repr(v) for v in vals)))
            fg.write("%.9g %.9g\n" % (p, float(np.percentile(np.array(vals), p))))
