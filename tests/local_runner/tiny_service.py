"""A small stand-in for a service, for the runner's tests: GET / answers its pid, its child's and its PORT.

--session-child starts a child in a session of its own, as the media service starts its download
workers; --ignore-sigterm makes it one that only SIGKILL stops; --exit-after makes it crash.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--session-child", action="store_true")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--exit-after", type=float)
    args = parser.parse_args()
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = None
    if args.session_child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    if args.exit_after is not None:
        threading.Timer(args.exit_after, os._exit, args=(3,)).start()
    state = {"pid": os.getpid(), "child": child.pid if child else None, "port_env": os.environ.get("PORT")}

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(state).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    print(f"tiny service pid {os.getpid()} up", file=sys.stderr, flush=True)
    if args.port is None:
        threading.Event().wait()
    ThreadingHTTPServer(("127.0.0.1", args.port), Answer).serve_forever()


if __name__ == "__main__":
    main()
