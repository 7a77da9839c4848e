"""Grading agent: runs *inside the student's sandbox* (read as text, never imported by the service).

It imports the student's ``solution`` module and then only answers the tester's requests. It never
sees the tests, and nothing it writes can reach the tester's results: only data does.
"""

import contextlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lf_rpc

_req, _resp = int(sys.argv[1]), int(sys.argv[2])
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)  # the student's input() sees an empty stream
os.dup2(_null, 1)  # and their prints go nowhere: stdout is not a channel here
peer = _lf_rpc.Peer(_req, _resp, {"call", "getattr", "setattr", "delattr", "unary", "binary", "setitem", "builtin"})
try:
    import solution
except BaseException as exc:
    if isinstance(exc, SystemExit):
        message = "Your program called exit() while being imported, so no test could run."
    else:
        import traceback  # only on this path: it costs milliseconds at start-up

        where = ""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.endswith("solution.py"):
                where = f" (solution.py, line {frame.lineno})"
                break
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
        message = "Importing your code failed: " + text[:400] + where
    peer.send({"hello": False, "message": message})
    os._exit(0)
peer.send({"hello": True, "module": peer.encode(solution)})
with contextlib.suppress(_lf_rpc.Dead):  # the tester finished and closed the channel
    peer.serve_forever()
os._exit(0)
