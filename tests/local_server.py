"""A small local OpenAI-compatible HTTP server (127.0.0.1 only) that misbehaves on request."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def completion(body: dict, text: str = "An answer.") -> dict:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
            "choices": [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": text},
                         "logprobs": {"content": [{"token": "An", "logprob": -0.5, "bytes": None,
                                                   "top_logprobs": []}]}}
                        for i in range(body.get("n", 1))],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class FaultHandler(BaseHTTPRequestHandler):
    """``server.mode`` says how to answer: ok, 429, 500, 500-then-ok, garbage, html, null-message,
    hang, trickle, ok-then-hang or ok-then-500 (the first ``server.fast`` requests answer, the rest
    hang or fail)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's name
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            srv.count += 1
            number = srv.count
        mode = srv.mode
        if mode == "500-then-ok":
            mode = "500" if number == 1 else "ok"
        if mode == "ok-then-hang":
            mode = "ok" if number <= srv.fast else "hang"
        if mode == "ok-then-500":
            mode = "ok" if number <= srv.fast else "500"
        if mode == "hang":
            srv.release.wait(srv.hang_s)
            return self._send(200, json.dumps(completion(body)).encode())
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            end = time.time() + srv.hang_s
            try:
                while time.time() < end and not srv.release.is_set():
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                return None  # the client gave up: what the tests want
            return None
        if mode == "429":
            return self._send(429, b'{"error": {"message": "slow down"}}')
        if mode == "500":
            return self._send(500, b'{"error": {"message": "boom"}}')
        if mode == "garbage":
            return self._send(200, b"\x00not json{{", "application/json")
        if mode == "html":
            return self._send(200, b"<html><body>Bad gateway</body></html>", "text/html")
        if mode == "null-message":
            data = completion(body)
            for c in data["choices"]:
                c["message"] = None
            return self._send(200, json.dumps(data).encode())
        return self._send(200, json.dumps(completion(body, srv.text)).encode())

    def _send(self, status: int, data: bytes, kind: str = "application/json"):
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a deadline or Ctrl-C): what the tests want

    def log_message(self, *args):
        """No access log in the test output."""


class QuietServer(ThreadingHTTPServer):
    """No traceback printed when a client hangs up mid-request (the faults provoke exactly that)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client hanging up mid-reply is what the fault cases provoke: nothing to report."""


@pytest.fixture
def fault_server():
    """(server, url): set ``server.mode``; ``server.count`` counts requests."""
    server = QuietServer(("127.0.0.1", 0), FaultHandler)
    server.mode, server.count, server.fast, server.hang_s, server.text = "ok", 0, 0, 30.0, "An answer."
    server.lock, server.release = threading.Lock(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.release.set()
    server.shutdown()
    server.server_close()
