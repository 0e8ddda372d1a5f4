#!/bin/sh
# No allocation in the per-token loop: t/unit/engine-alloc counts every
# malloc, calloc, realloc, aligned_alloc and posix_memalign that libq and
# libqk make (-Wl,--wrap) while four requests (greedy and sampled, with
# penalties and stop strings) decode together, after each has sampled its
# first token; the count must be 0.  The steps before (engine, requests,
# prefill) must have been counted, so the counter is known to work.
. "${0%/*}/lib.sh"

check() { # NAME MODEL N
	run t/unit/engine-alloc "$2" "$3"
	expect_status 0 "$1: decoding $3 tokens x 4 requests allocates nothing"
	sed 's/^/# /' "$TRASH/out" | head -n 2
	like "$TRASH/out" "^steps [0-9]+ tokens [0-9]+ allocations 0$" "$1: 0 allocations counted while decoding"
	like "$TRASH/out" "^before: steps [0-9]+ allocations [1-9][0-9]*$" "$1: the allocations before were counted"
}

check stories260K "$STORIES" 96
if [ -f "$MODEL_SMOL" ]; then
	check SmolLM2 "$MODEL_SMOL" 48
else
	for i in 1 2 3; do skip "no $MODEL_SMOL (make model)"; done
fi
done_testing
