#!/bin/sh
# qeval speed: llama-bench's table shape (rows ppN and tgN, mean +/- sd),
# --json with every run's sample, and bad options.
. "${0%/*}/lib.sh"

run qeval speed -m "$STORIES" -p 32 -n 16 -r 3 -t 1
expect_status 0 "speed: exit 0"
cat "$TRASH/out" | sed 's/^/# /'
like "$TRASH/out" '^\| model \| threads \| test \| t/s \|$' "table header as llama-bench's"
like "$TRASH/out" '^\| stories260K.gguf \| 1 \| pp32 \| [0-9]+\.[0-9]{2} ± [0-9]+\.[0-9]{2} \|$' "pp32 row"
like "$TRASH/out" '^\| stories260K.gguf \| 1 \| tg16 \| [0-9]+\.[0-9]{2} ± [0-9]+\.[0-9]{2} \|$' "tg16 row"

run qeval speed -m "$STORIES" -p 16 -n 8 -r 4 -t 1 --json
expect_status 0 "speed --json: exit 0"
is "$(jq -r '[.[] | .test + ":" + (.samples_ts | length | tostring)] | join(" ")' "$TRASH/out")" "pp16:4 tg8:4" \
	"--json: one object per test, 4 samples each"
jq -e 'all(.[]; .avg_ts > 0 and (.avg_ts - ((.samples_ts | add) / (.samples_ts | length)) | fabs) < 1e-3 * .avg_ts)' \
	"$TRASH/out" >/dev/null
ok_ $? "--json: avg_ts is the mean of the samples"

run qeval speed -m "$STORIES" -p 0 -n 0
expect_status 2 "-p 0 -n 0: usage error"
run qeval speed -m "$TRASH/none.gguf"
expect_status 1 "missing model: exit 1"
one_line_error "$TRASH/err" qeval "missing model: one error line"
run qeval nosuch
expect_status 2 "unknown subcommand: exit 2"
done_testing
