#!/bin/sh
# The real Python clients against qserve, unchanged but for the base URL:
# `openai` (sync and async; chat and completions, streamed and not, n=2,
# logprobs, stop, usage in the final streamed chunk, max_tokens -> length,
# a 400 as BadRequestError) and `ollama` (generate and chat, streamed and
# not, list, show, version), through t/data/serve/openai-client.py and
# ollama-client.py, whose TAP lines are this test's.  Skips, saying so,
# only when a package cannot be imported.
. "${0%/*}/lib.sh"

if [ ! -f "$MODEL_SMOL" ]; then
	skip "no $MODEL_SMOL (make model)"
	done_testing
fi
serve_start -m "$MODEL_SMOL" -t 2 --parallel 8 --quiet || done_testing
NAME=SmolLM2-135M-Instruct.Q4_1

client() { # PACKAGE SCRIPT ARGS...
	_pkg=$1
	shift
	if ! python3 -c "import $_pkg" 2>/dev/null; then
		skip "python3 cannot import $_pkg (python3 -m pip install $_pkg)"
		return
	fi
	run python3 "$@"
	# renumber the script's TAP lines into ours
	grep -E '^(not )?ok ' "$TRASH/out" | sed -E 's/^(not ok|ok) [0-9]+/\1/' >"$TRASH/lines"
	while IFS= read -r l; do
		case $l in
		"not ok"*) ok_ 1 "$_pkg: ${l#not ok - }" ;;
		*) ok_ 0 "$_pkg: ${l#ok - }" ;;
		esac
	done <"$TRASH/lines"
	grep '^#' "$TRASH/out"
	[ -s "$TRASH/lines" ]
	ok_ $? "$_pkg: the script ran checks"
	expect_status 0 "$_pkg: the script exits 0"
}

client openai t/data/serve/openai-client.py "$URL/v1" "$NAME"
client ollama t/data/serve/ollama-client.py "$URL" "$NAME"
serve_stop
done_testing
