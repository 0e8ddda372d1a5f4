#!/bin/sh
# qeval score: every check kind passing and failing, both result formats,
# failed and missing items, the summary numbers (the Wilson interval
# recomputed here with awk), malformed input naming file and line, usage
# errors; the JSON Schema subset against jsonschema's verdicts
# (t/data/qeval/gen-schema-golden.py).
. "${0%/*}/lib.sh"

D=$TRASH
# body ID TEXT: a bare chat-completion body (TEXT is already JSON-escaped)
body() { printf '{"custom_id":"%s","choices":[{"index":0,"message":{"role":"assistant","content":"%s"}}]}\n' "$1" "$2"; }
# batch ID TEXT: an OpenAI batch-output line with a completions body
batch() { printf '{"id":"b","custom_id":"%s","response":{"status_code":200,"request_id":"r","body":{"choices":[{"index":0,"text":"%s"}]}},"error":null}\n' "$1" "$2"; }

# check_one DESC CHECK ANSWER_JSON TEXT_JSON_ESCAPED WANT(ok|not ok); ANSWER - = none
check_one() {
	if [ "$3" = - ]; then
		printf '{"custom_id":"x","check":"%s"}\n' "$2"
	else
		printf '{"custom_id":"x","check":"%s","answer":%s}\n' "$2" "$3"
	fi >"$D/r1"
	body x "$4" >"$D/o1"
	run qeval score --tap --ref "$D/r1" "$D/o1"
	_got=$(head -n 2 "$TRASH/out" | tail -n 1)
	_want_rc=0
	[ "$5" = ok ] || _want_rc=1
	if [ "$rc" -eq "$_want_rc" ] && [ "$_got" = "$5 1 - x" ]; then ok_ 0 "$1"; else
		ok_ 1 "$1"
		diag "exit $rc (want $_want_rc), line '$_got' (want '$5 1 - x')" "$(head -c 300 "$TRASH/err")"
	fi
}

check_one "exact: equal"                 exact '"Paris"' 'Paris' ok
check_one "exact: case differs"          exact '"Paris"' 'paris' "not ok"
check_one "exact: trailing newline"      exact '"Paris"' 'Paris\n' "not ok"
check_one "iexact: case and spaces"      iexact '"  Hello   WORLD "' 'hello world' ok
check_one "iexact: tabs and newlines"    iexact '"hello world"' '\thello\n\n  world \r\n' ok
check_one "iexact: Unicode lowercase"    iexact '"ÉCOLE ΣΟΦΊΑ"' 'école σοφία' ok
check_one "iexact: NFC"                  iexact '"caf\u00e9"' 'cafe\u0301' ok
check_one "iexact: no-break space"       iexact '"a b"' 'a\u00a0 b' ok
check_one "iexact: different words"      iexact '"hello world"' 'hello, world' "not ok"
check_one "iexact: inner space matters"  iexact '"ab"' 'a b' "not ok"
check_one "contains: inside"             contains '"42"' 'The answer is 42.' ok
check_one "contains: case-sensitive"     contains '"Answer"' 'the answer' "not ok"
check_one "regex: unanchored search"     regex '"\\d{3}-\\d{4}"' 'call 555-1234 now' ok
check_one "regex: anchored fails"        regex '"^\\d+$"' '12 apples' "not ok"
check_one "regex: Unicode property"      regex '"^\\p{Lu}\\w+$"' 'Élan' ok
check_one "regex: no match"              regex '"colou?r"' 'hue' "not ok"
check_one "choice: one of them, normalized" choice '["yes","no"]' '  YES ' ok
check_one "choice: none of them"         choice '["yes","no"]' 'maybe' "not ok"
check_one "json: an object"              json - '{\"a\": [1, 2.5e3, true, null]}' ok
check_one "json: inside a json fence"    json - '```json\n{\"a\": 1}\n```' ok
check_one "json: inside a bare fence"    json - '\n```\n[1, 2]\n```\n' ok
check_one "json: text around a fence"    json - 'Here: ```json\n{}\n```' "not ok"
check_one "json: prose"                  json - 'Sure! {\"a\": 1}' "not ok"
check_one "json: leading zero"           json - '01' "not ok"
check_one "json: trailing comma"         json - '[1,]' "not ok"
check_one "json: two values"             json - '{} {}' "not ok"
check_one "json: raw tab in a string"    json - '\"a\tb\"' "not ok"
check_one "json: empty"                  json - '' "not ok"
check_one "json: equal to the answer (any key order)" json '{"a":1,"b":[2]}' '{\"b\": [2.0], \"a\": 1}' ok
check_one "json: not equal to the answer" json '{"a":1}' '{\"a\": 2}' "not ok"
check_one "json: answer null wants null" json null 'null' ok
check_one "json: answer null, got an object" json null '{}' "not ok"
check_one "schema: valid"                schema '{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}' '{\"n\": 3}' ok
check_one "schema: invalid"              schema '{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}' '{\"n\": \"3\"}' "not ok"
check_one "schema: not JSON"             schema '{"type":"object"}' '{n: 3}' "not ok"

# The JSON Schema subset agrees with jsonschema on every golden case.
G=t/data/qeval
run qeval score --tap --ref $G/schema-refs.jsonl $G/schema-results.jsonl
expect_status 1 "schema goldens: some cases are meant to fail"
grep -E '^(not )?ok' "$TRASH/out" >"$D/verdicts"
test_cmp $G/schema-verdicts.txt "$D/verdicts" "schema goldens: every verdict equals jsonschema's ($(wc -l <$G/schema-verdicts.txt) cases)"
like "$TRASH/out" '^#   why: \$\.children\[1\]\.children\[0\]\.value: expected number, got string "four"$' "schema: the reason names the nested path through \$ref"
like "$TRASH/out" '^#   why: \$\.address: property "country" is not allowed \(additionalProperties\)$' "schema: additionalProperties false in a nested object"
like "$TRASH/out" '^#   why: \$: "😀😀" has 2 characters, more than maxLength 1$' "schema: lengths in code points"

# A whole run: 10 refs, batch-output and bare lines, chat and completions.
cat >"$D/refs" <<'EOF2'
{"custom_id":"c1","check":"exact","answer":"Paris"}
{"custom_id":"c2","check":"iexact","answer":"Blue Whale"}
{"custom_id":"c3","check":"contains","answer":"1945"}
{"custom_id":"c4","check":"regex","answer":"^[0-9]+$"}
{"custom_id":"c5","check":"choice","answer":["A","B","C"]}

{"custom_id":"c6","check":"json"}
{"custom_id":"c7","check":"schema","answer":{"type":"array","items":{"type":"string"},"minItems":2}}
{"custom_id":"c8","check":"exact","answer":"4"}
{"custom_id":"c9","check":"exact","answer":"yes"}
{"custom_id":"c10","check":"iexact","answer":"done"}
EOF2
{
	batch c1 Paris
	body c2 'blue   whale'
	batch c3 'It ended in 1945.'
	body c4 '42'
	batch c5 ' b'
	body c6 '{\"ok\": true}'
	batch c7 '[\"x\"]'
	printf '%s\n' '{"id":"b","custom_id":"c8","response":{"status_code":500,"body":{"error":{"message":"engine overloaded","type":"server_error"}}},"error":null}'
	body extra 'stray'
	batch c10 'DONE'
} >"$D/results"
run qeval score --ref "$D/refs" <"$D/results"
expect_status 0 "summary mode exits 0 with failing items"
# Wilson interval for 7 of 11, computed independently
W=$(awk 'BEGIN { k = 7; n = 11; z = 1.959963984540054; p = k / n; d = 1 + z*z/n;
	c = (p + z*z/(2*n)) / d; h = z / d * sqrt(p*(1-p)/n + z*z/(4*n*n));
	printf "[%.4f, %.4f]", c - h, c + h }')
cat >"$D/want" <<EOF2
11 items, 7 passed, 4 failed
accuracy 0.6364 (7/11), 95% CI $W
FAIL c7 schema: \$: 1 item, fewer than minItems 2; got "[\"x\"]"
FAIL c8 exact: status 500: engine overloaded; expected "4"
FAIL c9 exact: no result; expected "yes"
FAIL extra: no ref; got "stray"
EOF2
test_cmp "$D/want" "$TRASH/out" "summary: counts, accuracy, Wilson interval $W, the failures"
is "$W" "[0.3538, 0.8483]" "the awk Wilson interval for 7/11 (sanity)"
run qeval score --ref "$D/refs" "$D/results" --min-accuracy 0.6
expect_status 0 "--min-accuracy 0.6 with 0.6364: exit 0"
run qeval score --ref "$D/refs" "$D/results" --min-accuracy 0.7
expect_status 1 "--min-accuracy 0.7 with 0.6364: exit 1"
is "$(cat "$TRASH/err")" "qeval: error: accuracy 0.6364 is below --min-accuracy 0.7" "--min-accuracy: says why"
like "$TRASH/out" '^11 items, 7 passed' "--min-accuracy: the summary is still printed"

# The example in the issue: 8 of 10.
: >"$D/r8"; : >"$D/o8"
for i in 1 2 3 4 5 6 7 8 9 10; do
	printf '{"custom_id":"k%s","check":"exact","answer":"a"}\n' $i >>"$D/r8"
	if [ $i -le 8 ]; then body k$i a; else body k$i b; fi >>"$D/o8"
done
run qeval score --ref "$D/r8" "$D/o8"
is "$(sed -n 2p "$TRASH/out")" "accuracy 0.8000 (8/10), 95% CI [0.4902, 0.9433]" "8/10: accuracy 0.8000, CI [0.4902, 0.9433]"

# Long texts are clipped to 80 characters; control characters escaped.
printf '{"custom_id":"l","check":"exact","answer":"short"}\n' >"$D/rl"
body l "$(printf 'é%.0s' $(seq 100))" >"$D/ol"
run qeval score --ref "$D/rl" "$D/ol"
is "$(sed -n 3p "$TRASH/out")" "FAIL l exact: expected \"short\"; got \"$(printf 'é%.0s' $(seq 80))\"..." "a long answer is clipped at 80 characters"

# A $ref loop cannot be decided: the item fails saying so.
printf '%s\n' '{"custom_id":"r","check":"schema","answer":{"$ref":"#"}}' >"$D/rloop"
body r 1 >"$D/oloop"
run qeval score --ref "$D/rloop" "$D/oloop"
expect_status 0 "\$ref loop: exit 0"
is "$(cat "$TRASH/out")" '1 item, 0 passed, 1 failed
accuracy 0.0000 (0/1), 95% CI [0.0000, 0.7935]
FAIL r schema: schema: more than 2304 nested schemas (a $ref loop?); got "1"' "\$ref loop: the item fails, saying why"

# Empty inputs.
: >"$D/empty"
run qeval score --ref "$D/empty" "$D/empty"
expect_status 0 "no items: exit 0"
is "$(cat "$TRASH/out")" "0 items, 0 passed, 0 failed
accuracy n/a (0/0)" "no items: says so"

# Malformed input: exit 1, one line naming file and line.
# bad_input DESC REFS_LINE RESULTS_LINE REGEX
bad_input() {
	printf '%s\n' '{"custom_id":"a","check":"exact","answer":"x"}' "$2" >"$D/br"
	printf '%s\n' '{"custom_id":"a","choices":[{"text":"x"}]}' "$3" >"$D/bo"
	run qeval score --ref "$D/br" "$D/bo"
	expect_status 1 "$1: exit 1"
	if [ "$(wc -l <"$TRASH/err")" -eq 1 ] && grep -Eq "^qeval: error: $4" "$TRASH/err"; then ok_ 0 "$1: one line naming file and line"; else
		ok_ 1 "$1: one line naming file and line"
		diag "stderr: $(head -c 300 "$TRASH/err")" "want: /$4/"
	fi
}
OKR='{"custom_id":"b","check":"exact","answer":"x"}'
OKO='{"custom_id":"b","choices":[{"text":"x"}]}'
bad_input "results: not JSON" "$OKR" '{"custom_id": "b", "choices": [' "$D/bo:2: not a JSON object"
bad_input "results: trailing garbage" "$OKR" "$OKO x" "$D/bo:2: not a JSON object"
bad_input "results: no custom_id" "$OKR" '{"choices":[{"text":"x"}]}' "$D/bo:2: no custom_id"
bad_input "results: duplicate custom_id" "$OKR" '{"custom_id":"a","choices":[{"text":"y"}]}' "$D/bo:2: duplicate custom_id 'a' \(first on line 1\)"
bad_input "results: neither format" "$OKR" '{"custom_id":"b","answer":"x"}' "$D/bo:2: neither a batch-output line"
bad_input "results: status_code missing" "$OKR" '{"custom_id":"b","response":{"body":{}}}' "$D/bo:2: response has no status_code"
bad_input "refs: not JSON" '{"custom_id":' "$OKO" "$D/br:2: not a JSON object"
bad_input "refs: unknown check" '{"custom_id":"b","check":"fuzzy","answer":"x"}' "$OKO" "$D/br:2: unknown check 'fuzzy' \(want exact, iexact, contains, regex, choice, json or schema\)"
bad_input "refs: no check" '{"custom_id":"b","answer":"x"}' "$OKO" "$D/br:2: no check"
bad_input "refs: answer not a string" '{"custom_id":"b","check":"exact","answer":4}' "$OKO" "$D/br:2: check exact needs an answer string"
bad_input "refs: choice of a string" '{"custom_id":"b","check":"choice","answer":"x"}' "$OKO" "$D/br:2: check choice needs an answer that is a non-empty list of strings"
bad_input "refs: bad regex" '{"custom_id":"b","check":"regex","answer":"a("}' "$OKO" "$D/br:2: bad pattern 'a\(': missing closing parenthesis at offset 2"
bad_input "refs: schema keyword of the wrong type" '{"custom_id":"b","check":"schema","answer":{"properties":{"n":{"minimum":"0"}}}}' "$OKO" "$D/br:2: schema at #/properties/n: minimum must be a number"
bad_input "refs: schema with a dangling \$ref" '{"custom_id":"b","check":"schema","answer":{"$ref":"#/$defs/nope"}}' "$OKO" "$D/br:2: schema at #: \\\$ref #/\\\$defs/nope does not name a schema"
bad_input "refs: schema with a bad pattern" '{"custom_id":"b","check":"schema","answer":{"items":{"pattern":"[a"}}}' "$OKO" "$D/br:2: schema at #/items: bad pattern '\[a'"
bad_input "refs: duplicate custom_id" '{"custom_id":"a","check":"exact","answer":"y"}' "$OKO" "$D/br:2: duplicate custom_id 'a'"

run qeval score --ref "$D/nope" "$D/o8"
expect_status 1 "missing refs file: exit 1"
is "$(cat "$TRASH/err")" "qeval: error: $D/nope: No such file or directory" "missing refs file: named"

# Failed results: status_code, an error object, a body without text.
printf '%s\n' '{"custom_id":"f1","check":"contains","answer":"x"}' '{"custom_id":"f2","check":"contains","answer":"x"}' \
	'{"custom_id":"f3","check":"contains","answer":"x"}' '{"custom_id":"f4","check":"contains","answer":"x"}' >"$D/rf"
printf '%s\n' '{"custom_id":"f1","response":{"status_code":429,"body":{"error":{"message":"slow down"}}}}' \
	'{"custom_id":"f2","response":null,"error":{"code":"batch_expired","message":"expired"}}' \
	'{"custom_id":"f3","response":{"status_code":200,"body":{"choices":[{"message":{"content":null}}]}}}' \
	'{"custom_id":"f4","response":{"status_code":200,"body":{"choices":[{"message":{"content":"x"}}]}}}' >"$D/of"
run qeval score --ref "$D/rf" "$D/of"
cat >"$D/want" <<'EOF2'
FAIL f1 contains: status 429: slow down; expected "x"
FAIL f2 contains: error: expired; expected "x"
FAIL f3 contains: the first choice's message has no text content; expected "x"
EOF2
tail -n 3 "$TRASH/out" >"$D/got"
test_cmp "$D/want" "$D/got" "failed items: status code, error object, no text"

# Usage errors: exit 2, one line.
for args in "score" "score --ref" "score --ref x a b" "score --ref x --min-accuracy 2" \
	"score --ref x --tap --min-accuracy 0.5" "score --bogus" "nosuch" "speed --bogus" "ppl --ctx 1" "bench"; do
	run qeval $args </dev/null
	expect_status 2 "qeval $args: exit 2"
	one_line_error "$TRASH/err" qeval "qeval $args: one error line"
done
run qeval
expect_status 2 "no subcommand: exit 2"
run qeval --help
expect_status 0 "--help: exit 0"
like "$TRASH/out" '^  score --ref REFS' "--help: lists score"
run qeval --version
is "$(cat "$TRASH/out")" "qeval (q) $(sed -n 's/^#define Q_VERSION "\(.*\)"/\1/p' lib/config.h)" "--version"

done_testing
