#!/bin/sh
# qeval compare --judge: an LLM judge (here t/data/qeval/fake-server.py,
# which prefers the answer holding the word GOOD) asked about every pair
# in both orders; a side wins only when both orders pick it, so a judge
# that always picks the first position produces only ties.
. "${0%/*}/lib.sh"

command -v python3 >/dev/null || { skip "no python3 for the scripted judge"; done_testing; }
line() { printf '{"custom_id":"%s","response":{"status_code":200,"body":{"choices":[{"message":{"content":"%s"}}]}}}\n' "$1" "$2"; }
{
	line q1 "GOOD answer"; line q2 "GOOD too"; line q3 "meh"; line q4 "GOOD"; line q5 "GOOD x"
} >"$TRASH/a.jsonl"
{
	line q1 "meh"; line q2 "meh"; line q3 "GOOD one"; line q4 "GOOD"; line q5 "so-so"
} >"$TRASH/b.jsonl"
printf '{"custom_id":"q1","body":{"messages":[{"role":"user","content":"Say something."}]}}\n' >"$TRASH/in.jsonl"

fake_start || { skip "scripted judge did not start"; done_testing; }
run qeval compare "$TRASH/a.jsonl" "$TRASH/b.jsonl" --judge "$FURL" --judge-model j \
	--input "$TRASH/in.jsonl"
expect_status 0 "--judge: exit 0"
sed 's/^/# /' "$TRASH/out"
p=$(awk 'BEGIN { n = 4; k = 3; s = 0; c = 1; for (i = 0; i <= n; i++) { if (i <= 1 || i >= k) s += c; c = c * (n - i) / (i + 1) } printf "%.4f", s / 2 ^ n }')
like "$TRASH/out" "^A wins 3, B wins 1, ties 1 \(5 items, each judged in both orders\); sign test p = $p$" \
	"A wins 3 (q1 q2 q5), B 1 (q3), tie 1 (q4 both GOOD); p = $p"
like "$TRASH/out" "chose the answer shown first 4 times, the second 4 times; 0 unusable verdicts, 0 failed requests" \
	"position counts: 4 and 4, nothing unusable or failed"
kill $FPID

fake_start --judge-first || { skip "scripted judge did not start"; done_testing; }
run qeval compare "$TRASH/a.jsonl" "$TRASH/b.jsonl" --judge "$FURL" --judge-model j
like "$TRASH/out" "^A wins 0, B wins 0, ties 5 " "a judge that always picks the first position: all ties (its bias cancels)"
like "$TRASH/out" "shown first 10 times, the second 0 times" "...and the bias shows in the position counts"
kill $FPID

run qeval compare "$TRASH/a.jsonl" "$TRASH/b.jsonl" --judge http://127.0.0.1:9 --judge-model j
expect_status 1 "a judge where nothing listens: exit 1"
one_line_error "$TRASH/err" qeval "a judge where nothing listens: one error line"
run qeval compare "$TRASH/a.jsonl" "$TRASH/b.jsonl" --judge http://127.0.0.1:9
expect_status 2 "--judge without --judge-model: usage error"
done_testing
