#!/bin/sh
# strftime_now() (transformers' global: datetime.now().strftime(fmt)) against
# date(1), which formats the same clock with the same C library.  The date is
# taken before and after the render so that a tick at midnight cannot fail it.
. "${0%/*}/lib.sh"

R=t/unit/tmpl-render
[ -x "$R" ] || { skip "t/unit/tmpl-render not built"; done_testing; }
printf '{}' >"$TRASH/v.json"

check() { # check FORMAT DESCRIPTION
	printf '{{ strftime_now("%s") }}' "$1" >"$TRASH/t.jinja"
	before=$(date +"$1")
	run "$R" "$TRASH/t.jinja" "$TRASH/v.json"
	after=$(date +"$1")
	got=$(cat "$TRASH/out")
	if [ "$rc" -eq 0 ] && { [ "$got" = "$before" ] || [ "$got" = "$after" ]; }; then
		ok_ 0 "$2"
	else
		ok_ 1 "$2"
		diag "status $rc, got '$got', want '$before'" "$(cat "$TRASH/err")"
	fi
}

check '%Y-%m-%d' "ISO date"
check '%d %B %Y' "Llama 3.1 style date (%d %B %Y)"
check '%d %b %Y' "short month"
check '%A, %j, %%' "weekday, day of year, literal %"

printf '{{ strftime_now("%%f")|length }} {{ strftime_now("") }}|{{ strftime_now("plain") }}' >"$TRASH/t.jinja"
run "$R" "$TRASH/t.jinja" "$TRASH/v.json"
expect_status 0 "%f, empty and plain formats"
is "$(cat "$TRASH/out")" "6 |plain" "%f is 6 digits of microseconds; text passes through"
printf '{{ strftime_now() }}' >"$TRASH/t.jinja"
run "$R" "$TRASH/t.jinja" "$TRASH/v.json"
expect_status 1 "strftime_now() without a format is an error"

done_testing
