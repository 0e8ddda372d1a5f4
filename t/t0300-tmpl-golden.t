#!/bin/sh
# Chat templates rendered by lib/tmpl against jinja2's renderings (the oracle).
# Golden files: t/data/tmpl/golden/, made by t/data/tmpl/gen-golden.py from
# t/data/tmpl/cases/*.json; one TAP line per case.  A case jinja2 renders must
# come out byte-identical with exit status 0; a case jinja2 rejects (or that q
# rejects by design) must fail with status 1 and one error line naming the
# template line jinja2 named, containing raise_exception()'s message.
. "${0%/*}/lib.sh"

R=t/unit/tmpl-render
G=t/data/tmpl/golden
[ -x "$R" ] || { skip "t/unit/tmpl-render not built"; done_testing; }

while IFS='	' read -r name tmpl kind line must; do
	case $name in '#'*|'') continue ;; esac
	run "$R" "$tmpl" "$G/$name.vars.json"
	if [ "$kind" = ok ]; then
		if [ "$rc" -eq 0 ] && cmp -s "$G/$name.txt" "$TRASH/out"; then
			ok_ 0 "$name"
		else
			ok_ 1 "$name"
			diag "exit status $rc, stderr: $(head -c 300 "$TRASH/err")"
			diff "$G/$name.txt" "$TRASH/out" | head -n 10 | sed 's/^/# /'
		fi
		continue
	fi
	st=0
	[ "$rc" -eq 1 ] || st=1
	[ "$(wc -l <"$TRASH/err")" -eq 1 ] || st=1
	if [ "$line" = "?" ]; then
		grep -Eq '^tmpl-render: error: template line [0-9]+: ' "$TRASH/err" || st=1
	else
		grep -q "^tmpl-render: error: template line $line: " "$TRASH/err" || st=1
	fi
	[ -z "$must" ] || grep -qF -- "$must" "$TRASH/err" || st=1
	ok_ $st "$name (error at line $line)"
	[ $st -eq 0 ] || diag "exit status $rc, want 1; stderr: $(head -c 300 "$TRASH/err")" "jinja2: $(tail -n 1 "$G/$name.err")"
done <"$G/MANIFEST"

done_testing
