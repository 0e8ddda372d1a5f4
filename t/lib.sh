# t/lib.sh - helpers for the prove suite.  Source it from a t/tNNNN-*.t script:
#   . "${0%/*}/lib.sh"
# Tests run from the top of the tree with a private scratch directory $TRASH.
# Every check prints one TAP line; finish with `done_testing`.
# A command killed by a signal (status > 128) always fails a check.

set -u
TOP=$(cd "${0%/*}/.." && pwd)
SHARED=${Q_SHARED:-$TOP/../shared}
MODEL_SMOL=$TOP/share/models/SmolLM2-135M-Instruct.Q4_1.gguf
STORIES=$SHARED/models/stories260K.gguf
PATH=$TOP/bin:$PATH
unset Q_MODEL
TRASH=$TOP/t/trash.$(basename "$0" .t).$$
rm -rf "$TRASH" && mkdir -p "$TRASH" || exit 1
trap 'rm -rf "$TRASH"' EXIT
cd "$TOP" || exit 1

_n=0
_failed=0

ok_() { # ok_ STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

diag() { printf '# %s\n' "$@"; }

skip() { # skip REASON: one skipped check, saying why
	_n=$((_n + 1))
	echo "ok $_n # skip $1"
}

# run CMD...: run with stdout in $TRASH/out, stderr in $TRASH/err, status in $rc.
run() {
	"$@" >"$TRASH/out" 2>"$TRASH/err"
	rc=$?
}

# run_in INPUT CMD...: like run with INPUT (a string) on stdin.
run_in() {
	_in=$1; shift
	printf '%s' "$_in" | { "$@" >"$TRASH/out" 2>"$TRASH/err"; echo $? >"$TRASH/rc"; }
	rc=$(cat "$TRASH/rc")
}

# expect_status WANT DESCRIPTION: check $rc (from run) equals WANT.
expect_status() {
	if [ "$rc" -eq "$1" ]; then ok_ 0 "$2"; else
		ok_ 1 "$2"
		diag "exit status $rc, want $1" "stderr: $(head -c 400 "$TRASH/err")"
	fi
}

# test_cmp EXPECT ACTUAL DESCRIPTION: files identical.
test_cmp() {
	if cmp -s "$1" "$2"; then ok_ 0 "$3"; else
		ok_ 1 "$3"
		diff -u "$1" "$2" | head -n 20 | sed 's/^/# /'
	fi
}

# is GOT WANT DESCRIPTION: strings equal.
is() {
	if [ "$1" = "$2" ]; then ok_ 0 "$3"; else
		ok_ 1 "$3"
		diag "got:  '$(printf '%s' "$1" | head -c 300)'" "want: '$(printf '%s' "$2" | head -c 300)'"
	fi
}

# like FILE REGEX DESCRIPTION: FILE matches an extended regex.
like() {
	if grep -Eq -- "$2" "$1"; then ok_ 0 "$3"; else
		ok_ 1 "$3"
		diag "no match for /$2/ in $1:" "$(head -c 300 "$1")"
	fi
}

# one_line_error FILE TOOL DESCRIPTION: stderr is exactly one "TOOL: error: ..." line.
one_line_error() {
	if [ "$(wc -l <"$1")" -eq 1 ] && grep -q "^$2: error: " "$1"; then ok_ 0 "$3"; else
		ok_ 1 "$3"
		diag "stderr was:" "$(head -c 400 "$1")"
	fi
}

# serve_start ARGS...: start bin/qserve ARGS on a free loopback port in the
# background (stderr in $TRASH/serve.err) and wait until /health says 200
# (or 401, when it needs a key).
# Sets $PORT, $URL and $SERVE_PID; the server is killed on exit.  Returns 1
# (with a diag) when it did not come up within 60 s.
serve_start() {
	for _try in 1 2 3 4 5 6 7 8; do
		PORT=$(( ($$ * 7 + _try * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 30000 + 20000 ))
		bin/qserve --host 127.0.0.1 --port "$PORT" "$@" 2>"$TRASH/serve.err" &
		SERVE_PID=$!
		URL=http://127.0.0.1:$PORT
		trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null; rm -rf "$TRASH"' EXIT
		_i=0
		while [ $_i -lt 600 ]; do
			if ! kill -0 "$SERVE_PID" 2>/dev/null; then
				break
			fi
			case $(curl -s -o /dev/null -w '%{http_code}' "$URL/health") in
			200 | 401) return 0 ;; # 401: up, with --protect-metrics
			esac
			sleep 0.1
			_i=$((_i + 1))
		done
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
		grep -q 'cannot listen' "$TRASH/serve.err" || break
	done
	diag "qserve did not start:" "$(head -c 400 "$TRASH/serve.err")"
	return 1
}

# fake_start ARGS...: start t/data/qeval/fake-server.py (the scripted
# OpenAI/Ollama server) with ARGS on a free loopback port and wait until
# it listens.  Sets $FURL and $FPID (killed on exit); returns 1 when it
# did not start.
fake_start() {
	for _try in 1 2 3 4 5; do
		_fport=$(( ($$ * 13 + _try * 4099 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 30000 + 20000 ))
		python3 t/data/qeval/fake-server.py "$_fport" "$@" >"$TRASH/fake.out" 2>"$TRASH/fake.err" &
		FPID=$!
		_i=0
		while [ $_i -lt 100 ] && ! grep -q listening "$TRASH/fake.out" && kill -0 $FPID 2>/dev/null; do
			sleep 0.05
			_i=$((_i + 1))
		done
		if grep -q listening "$TRASH/fake.out"; then
			FURL=http://127.0.0.1:$_fport
			trap 'kill $FPID 2>/dev/null; rm -rf "$TRASH"' EXIT
			return 0
		fi
		kill $FPID 2>/dev/null
	done
	return 1
}

# serve_stop: SIGTERM the server, wait; its exit status in $rc.
serve_stop() {
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID"
	rc=$?
}

# http METHOD PATH [BODY] [CURL ARGS...]: a request to $URL (GET takes no
# BODY); the response body in $TRASH/out, its status in $code, headers in
# $TRASH/headers.
http() {
	_m=$1 _p=$2
	shift 2
	if [ "$_m" != GET ] && [ $# -gt 0 ]; then
		printf '%s' "$1" >"$TRASH/body"
		shift
		code=$(curl -s -X "$_m" -o "$TRASH/out" -D "$TRASH/headers" -w '%{http_code}' \
			-H 'Content-Type: application/json' --data-binary @"$TRASH/body" "$@" "$URL$_p")
	else
		code=$(curl -s -X "$_m" -o "$TRASH/out" -D "$TRASH/headers" -w '%{http_code}' "$@" "$URL$_p")
	fi
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
	exit $?
}
