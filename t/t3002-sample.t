#!/bin/sh
# The sampling chain (greedy ties, top-k, top-p, min-p, temperature,
# penalties over a window, logit bias, the mask hook, seeds, parameter
# checks) and stop strings (split across pieces, held back, flushed, UTF-8)
# on inputs whose right answers are known exactly: t/unit/sample-test
# prints the TAP itself.
cd "${0%/*}/.." && exec t/unit/sample-test
