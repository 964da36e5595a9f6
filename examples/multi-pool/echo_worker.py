#!/usr/bin/env python3
"""A tiny worker for the multi-pool example: answers every request with its pool's name (from
$POOL_NAME), an id of this worker process (its pid may be 2 for every worker in a
PID namespace), the path it saw and the session header, so you can see which pool served
a request and what the gateway forwarded. Usage: echo_worker.py --port N"""
import json
import os
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTANCE = uuid.uuid4().hex


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        else:
            body = json.dumps({
                "pool": os.environ.get("POOL_NAME", "?"),
                "worker": INSTANCE,
                "path": self.path,
                "session": self.headers.get("X-Session-ID"),
            }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1])
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
