# t/data/tok/corpus.sh - shared by the t110x-tok-*.t corpus tests; source it
# after t/lib.sh.  The golden files are made by t/data/tok/gen-golden.py (see
# t/data/tok/README); the tests need no Python.

TOKC=t/unit/tok-corpus
TOKD=t/data/tok
CORPUS=$TOKD/corpus.jsonl
CORPUS_N=$(($(wc -l <"$CORPUS")))

# corpus_check NAME MODEL: six checks.
#  - default mode (add BOS/EOS, match special-token text): every line's ids
#    equal $TOKD/NAME.default.ids, and all $CORPUS_N lines were compared;
#  - raw mode (no BOS/EOS, special-token text is plain text): same against
#    $TOKD/NAME.raw.ids;
#  - raw roundtrip: q_tok_decode of our raw ids is the input (or the text
#    listed for that line in $TOKD/NAME.raw.decode-diff.jsonl, when it
#    exists), and q_detok_feed/flush give the same bytes in valid UTF-8 chunks.
# The driver's summary and first mismatches are echoed as TAP comments.
corpus_check() {
	_name=$1 _model=$2
	for _mode in default raw; do
		if [ $_mode = raw ]; then _flag=--raw; else _flag=; fi
		run $TOKC "$_model" "$CORPUS" $_flag --expect "$TOKD/$_name.$_mode.ids"
		cat "$TRASH/out"
		expect_status 0 "$_name $_mode: ids of every corpus line equal the oracle's"
		like "$TRASH/out" "^# $_name\\.$_mode\\.ids: $CORPUS_N/$CORPUS_N identical\$" \
			"$_name $_mode: $CORPUS_N/$CORPUS_N lines identical"
	done
	_dd=$TOKD/$_name.raw.decode-diff.jsonl
	if [ -f "$_dd" ]; then
		run $TOKC "$_model" "$CORPUS" --raw --roundtrip --decoded "$_dd" --name "$_name"
	else
		run $TOKC "$_model" "$CORPUS" --raw --roundtrip --name "$_name"
	fi
	cat "$TRASH/out"
	expect_status 0 "$_name raw: decode(encode(x)) == x, incremental detok agrees"
	like "$TRASH/out" "^# $_name: roundtrip $CORPUS_N/$CORPUS_N identical, detok $CORPUS_N/$CORPUS_N identical, 0 invalid chunks\$" \
		"$_name raw: roundtrip summary $CORPUS_N/$CORPUS_N, no invalid UTF-8 chunk"
}
