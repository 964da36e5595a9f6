"""A REPL worker for Herd: one Python namespace per process, so one per session.

POST /exec runs the request body as Python code in this process's namespace and answers what
it printed (and the traceback, with status 400, if it raised). GET /health answers ok.
Standard library only; listens on 127.0.0.1 at --port (or $PORT).
"""
import argparse
import contextlib
import io
import os
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer

NAMESPACE = {"__name__": "__herd_session__"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            self._send(200, "ok\n")
        else:
            self._send(404, "POST /exec with Python code as the body\n")

    def do_POST(self):
        if self.path != "/exec":
            self._send(404, "POST /exec\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        code = self.rfile.read(length).decode("utf-8")
        out = io.StringIO()
        status = 200
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                exec(compile(code, "<session>", "exec"), NAMESPACE)
            except Exception:  # the session's error, reported to the session
                traceback.print_exc()
                status = 400
        self._send(status, out.getvalue())

    def _send(self, status, text):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # one line per request on stderr, prefixed by Herd
        print("%s %s" % (self.command, self.path), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    port = parser.parse_args().port
    server = HTTPServer(("127.0.0.1", port), Handler)
    print("repl worker listening on %d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
