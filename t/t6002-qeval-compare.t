#!/bin/sh
# qeval compare: a blinded sheet with random but seeded sides and a separate
# key; ratings read back into wins/ties with a two-sided sign test whose
# p-value is recomputed here with awk from the binomial formula; malformed
# sheets and keys exit 1 naming file and line.
. "${0%/*}/lib.sh"

D=$TRASH
: >"$D/A"; : >"$D/B"
for i in $(seq 1 20); do
	printf '{"custom_id":"q%s","choices":[{"message":{"content":"a-q%s"}}]}\n' $i $i >>"$D/A"
	printf '{"custom_id":"q%s","response":{"status_code":200,"body":{"choices":[{"text":"b-q%s"}]}}}\n' $i $i >>"$D/B"
done
printf '%s\n' '{"custom_id":"onlyA","choices":[{"text":"x"}]}' '{"custom_id":"failed","choices":[{"text":"x"}]}' >>"$D/A"
printf '%s\n' '{"custom_id":"onlyB","choices":[{"text":"x"}]}' \
	'{"custom_id":"failed","response":{"status_code":500,"body":{"error":{"message":"boom"}}}}' >>"$D/B"

run qeval compare "$D/A" "$D/B" --sheet "$D/sheet" --seed 7
expect_status 0 "sheet: exit 0"
is "$(cat "$TRASH/out")" "20 pairs to rate in $D/sheet, key in $D/sheet.key; left out: 1 only in A, 1 only in B, 1 with a failed answer" "sheet: what was written and left out"
is "$(wc -l <"$D/sheet" | tr -d ' ')/$(wc -l <"$D/sheet.key" | tr -d ' ')" "20/20" "sheet and key: 20 lines each"
if grep -vEq '^\{"item":[0-9]+,"first":"[ab]-q[0-9]+","second":"[ab]-q[0-9]+","rating":""\}$' "$D/sheet"; then
	ok_ 1 "sheet: only item, first, second and an empty rating (no custom_id, no A/B)"
else ok_ 0 "sheet: only item, first, second and an empty rating (no custom_id, no A/B)"; fi
# the key agrees with the sheet: first is A exactly when the first text is A's
sed 's/^{"item":\([0-9]*\),"first":"\(.\)-\(q[0-9]*\)",.*/\1 \3 \2/' "$D/sheet" | tr ab AB >"$D/want"
sed 's/^{"item":\([0-9]*\),"custom_id":"\([^"]*\)","first":"\(.\)"}$/\1 \2 \3/' "$D/sheet.key" >"$D/got"
test_cmp "$D/want" "$D/got" "key: item, custom_id and the side shown first match the sheet"
nA=$(grep -c '"first":"A"' "$D/sheet.key")
if [ "$nA" -gt 0 ] && [ "$nA" -lt 20 ]; then ok_ 0 "sides are mixed ($nA of 20 show A first)"; else ok_ 1 "sides are mixed ($nA of 20 show A first)"; fi

cp "$D/sheet" "$D/sheet7"; cp "$D/sheet.key" "$D/key7"
run qeval compare "$D/A" "$D/B" --sheet "$D/s2" --key "$D/k2" --seed 7
test_cmp "$D/key7" "$D/k2" "--seed 7 again: the same sides"
test_cmp "$D/sheet7" "$D/s2" "--seed 7 again: the same sheet"
run qeval compare "$D/A" "$D/B" --sheet "$D/s3" --key "$D/k3" --seed 8
if cmp -s "$D/key7" "$D/k3"; then ok_ 1 "--seed 8: other sides"; else ok_ 0 "--seed 8: other sides"; fi
run qeval compare "$D/A" "$D/B" --sheet "$D/s4" --key "$D/k4"
run qeval compare "$D/A" "$D/B" --sheet "$D/s5" --key "$D/k5"
if cmp -s "$D/k4" "$D/k5"; then ok_ 1 "no seed: random sides (two runs differ)"; else ok_ 0 "no seed: random sides (two runs differ)"; fi

# rate WA WB TIES: fill the sheet from the key so that A wins items 1..WA,
# B the next WB, then TIES ties (and the rest, if any, are left unrated).
rate() {
	awk -v wa="$1" -v wb="$2" -v t="$3" -F'"' '
		NR == FNR { first[NR] = $10; next }
		{ i = FNR; r = ""
		  if (i <= wa) r = first[i] == "A" ? "first" : "second"
		  else if (i <= wa + wb) r = first[i] == "B" ? "first" : "second"
		  else if (i <= wa + wb + t) r = "tie"
		  else next
		  sub(/"rating":""/, "\"rating\":\"" r "\""); print }' "$D/sheet.key" "$D/sheet" >"$D/rated"
}
# sign_p WA WB: two-sided exact sign test, from the binomial coefficients
sign_p() {
	awk -v a="$1" -v b="$2" 'BEGIN { n = a + b; k = a < b ? a : b; c = 1; s = 0
		for (i = 0; i <= k; i++) { s += c; c = c * (n - i) / (i + 1) }
		p = n ? 2 * s / 2 ^ n : 1; if (p > 1) p = 1; printf(p >= 1e-4 ? "%.4f" : "%.2e", p) }'
}
is "$(sign_p 12 5)" "0.1435" "awk: 12 vs 5 gives 0.1435 (sanity)"
for case in "12 5 3" "15 2 3" "2 15 3" "10 10 0" "0 0 20" "20 0 0" "9 4 7"; do
	set -- $case
	rate "$1" "$2" "$3"
	run qeval compare --ratings "$D/rated" --key "$D/sheet.key"
	expect_status 0 "ratings $1/$2/$3: exit 0"
	is "$(head -n 1 "$TRASH/out")" "A wins $1, B wins $2, ties $3 (20 items); sign test p = $(sign_p "$1" "$2")" \
		"ratings $1/$2/$3: the tally and p = $(sign_p "$1" "$2")"
done
rate 12 5 3
F=$(grep -c '"rating":"first"' "$D/rated"); S=$(grep -c '"rating":"second"' "$D/rated")
run qeval compare --ratings "$D/rated" --key "$D/sheet.key"
is "$(sed -n 2p "$TRASH/out")" "the rater chose the first side $F times, the second $S times" "position counts"
cp "$D/rated" "$D/filled"; cp "$D/sheet.key" "$D/filled.key"
run qeval compare --ratings "$D/filled"
expect_status 0 "--key defaults to RATINGS.key"
sed 's/"rating":"first"/"rating":"First"/' "$D/rated" >"$D/rated2"
run qeval compare --ratings "$D/rated2" --key "$D/sheet.key"
is "$(head -n 1 "$TRASH/out")" "A wins 12, B wins 5, ties 3 (20 items); sign test p = 0.1435" "ratings are case-insensitive"

# Malformed ratings and keys: exit 1, one line naming file and line.
# bad_rating DESC SED_SCRIPT REGEX [KEY_SED_SCRIPT]
bad_rating() {
	sed "$2" "$D/rated" >"$D/bad"
	sed "${4:-p;d}" "$D/sheet.key" >"$D/bad.key"
	run qeval compare --ratings "$D/bad" --key "$D/bad.key"
	expect_status 1 "$1: exit 1"
	if [ "$(wc -l <"$TRASH/err")" -eq 1 ] && grep -Eq "^qeval: error: $3" "$TRASH/err"; then ok_ 0 "$1: says where"; else
		ok_ 1 "$1: says where"
		diag "stderr: $(head -c 300 "$TRASH/err")" "want: /$3/"
	fi
}
bad_rating "rating not JSON" '3s/.*/{"item":3,/' "$D/bad:3: not a JSON object"
bad_rating "unknown rating" '4s/"rating":"[a-z]*"/"rating":"maybe"/' "$D/bad:4: item 4: rating 'maybe' \(want \"first\", \"second\" or \"tie\"\)"
bad_rating "empty rating" '5s/"rating":"[a-z]*"/"rating":""/' "$D/bad:5: item 5: rating is empty"
bad_rating "item rated twice" '6s/"item":6/"item":2/' "$D/bad:6: item 2 rated twice \(first on line 2\)"
bad_rating "item missing" '7d' "$D/bad: item 7 has no rating"
bad_rating "item not in the key" '8s/"item":8/"item":99/' "$D/bad:8: no item number in the key"
bad_rating "key: not JSON" 'p;d' "$D/bad.key:2: not a JSON object" '2s/.*/[/'
bad_rating "key: bad side" 'p;d' "$D/bad.key:3: \"first\" must be \"A\" or \"B\"" '3s/"first":"."/"first":"C"/'
bad_rating "key: item missing" 'p;d' "$D/bad.key: item 4 is missing" '4d'
run qeval compare --ratings "$D/rated" --key "$D/nokey"
expect_status 1 "missing key file: exit 1"
is "$(cat "$TRASH/err")" "qeval: error: $D/nokey: No such file or directory" "missing key file: named"
printf 'nope\n' >"$D/Abad"
run qeval compare "$D/Abad" "$D/B" --sheet "$D/s6"
expect_status 1 "malformed result file: exit 1"
is "$(cat "$TRASH/err")" "qeval: error: $D/Abad:1: not a JSON object" "malformed result file: names file and line"
run qeval compare "$D/A" "$D/B" --sheet "$D/s7" --key "$D/s7"
expect_status 1 "sheet and key the same file: exit 1"

# Usage errors: exit 2, one line.
for args in "compare" "compare a b" "compare a --sheet s" "compare --ratings r a b" "compare --ratings r --seed 1" \
	"compare a b --sheet s --ratings r" "compare a b --sheet s --seed x" "compare a b --judge http://x" \
	"compare a b --judge-model m" "compare --bogus"; do
	run qeval $args
	expect_status 2 "qeval $args: exit 2"
	one_line_error "$TRASH/err" qeval "qeval $args: one error line"
done
run qeval compare a b --judge http://x
is "$(cat "$TRASH/err")" "qeval: error: --judge URL and --judge-model NAME go together" \
	"--judge without --judge-model: says what is missing"

done_testing
