#!/bin/sh
# qeval score --tap inside prove: a generated .t that runs it passes when
# every item passes, and prove names exactly the failing item otherwise.
. "${0%/*}/lib.sh"

D=$TRASH
printf '%s\n' '{"custom_id":"capital","check":"iexact","answer":"Paris"}' \
	'{"custom_id":"sum","check":"regex","answer":"\\b4\\b"}' \
	'{"custom_id":"json#1","check":"json"}' >"$D/refs"
printf '%s\n' '{"custom_id":"capital","choices":[{"message":{"content":" paris "}}]}' \
	'{"custom_id":"sum","choices":[{"message":{"content":"2 + 2 = 4"}}]}' \
	'{"custom_id":"json#1","choices":[{"message":{"content":"{}"}}]}' >"$D/good"
sed 's/2 + 2 = 4/2 + 2 = 5/' "$D/good" >"$D/bad"
for which in good bad; do
	printf '#!/bin/sh\nexec "%s/bin/qeval" score --tap --ref "%s/refs" "%s/%s"\n' "$TOP" "$D" "$D" $which >"$D/$which.t"
done

run prove "$D/good.t"
expect_status 0 "all items pass: prove passes"
like "$TRASH/out" '^Result: PASS$' "all items pass: Result: PASS"
like "$TRASH/out" 'Files=1, Tests=3,' "all items pass: 3 tests"

run prove "$D/bad.t"
expect_status 1 "one item fails: prove fails"
like "$TRASH/out" "bad\.t +\(Wstat: 256 \(exited 1\) Tests: 3 Failed: 1\)" "one item fails: exited 1, 3 tests, 1 failed"
like "$TRASH/out" '^  Failed test:  2$' "one item fails: prove names test 2"
run prove -v "$D/bad.t"
like "$TRASH/out" '^not ok 2 - sum$' "-v: 'not ok 2 - sum'"
like "$TRASH/out" '^#   got: "2 \+ 2 = 5"$' "-v: the diagnostic shows what was got"
like "$TRASH/out" '^ok 3 - json\\#1$' "a '#' in a custom_id is escaped, not read as a directive"
if grep -q 'skip\|SKIP\|todo\|TODO' "$TRASH/out"; then ok_ 1 "no item is taken as skipped"; else ok_ 0 "no item is taken as skipped"; fi

done_testing
