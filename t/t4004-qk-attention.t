#!/bin/sh
# Paged attention over block tables: causal, GQA, F32 and F16 caches, a batch
# mixing decode and prefill tokens of several sequences; every ISA against a
# float64 computation and the reference; bad block tables are refused; a GQA
# group computed at once (K and V read once for its heads) gives exactly the
# bytes of its heads computed one by one.
. "${0%/*}/lib.sh"

run t/unit/qk-test attn
expect_status 0 "paged attention within bounds on every ISA; bad inputs refused"
cat "$TRASH/out"
like "$TRASH/out" '^# bad block ids, positions and slots are refused' "error paths exercised"
like "$TRASH/out" '^# attention groups: [0-9]+ cases' "GQA groups at once match their heads one by one"
done_testing
