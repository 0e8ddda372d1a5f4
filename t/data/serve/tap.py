"""tap.py - what openai-client.py and ollama-client.py share: each check
is a function run as one TAP line ("ok N - DESC: detail" or "not ok N - DESC"
with the failure as "#   " notes), and the plan and exit status at the end."""
import asyncio
import sys
import traceback

_n = 0
_failed = 0


def check(desc):
    """Decorator: run the function as one TAP check.  It returns a string
    appended to DESC (a coroutine function is run to its end first), or
    raises AssertionError (message in a note) to fail."""
    def wrap(fn):
        global _n, _failed
        _n += 1
        try:
            r = fn()
            if asyncio.iscoroutine(r):
                r = asyncio.run(r)
            print(f"ok {_n} - {desc}" + (f": {r}" if r else ""), flush=True)
        except Exception as e:  # any failure, including the client's, is a not ok
            _failed += 1
            print(f"not ok {_n} - {desc}", flush=True)
            what = str(e) if isinstance(e, AssertionError) else \
                "".join(traceback.format_exception_only(type(e), e)).strip()
            for line in what.splitlines()[:8]:
                print(f"#   {line}", flush=True)
        return fn
    return wrap


def want(cond, msg):
    if not cond:
        raise AssertionError(msg)


def finish():
    """Print the plan "1..N" and exit 1 if any check failed, else 0."""
    print(f"1..{_n}")
    if _failed:
        print(f"# {_failed} of {_n} checks failed")
    sys.exit(1 if _failed else 0)
