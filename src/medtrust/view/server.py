"""`medtrust view`: a local web app (standard library HTTP server, 127.0.0.1 only, no build step)
over a runs folder: every run with its status and headline, sortable and filterable, live
progress of running runs, each run's report, and runs of one study compared side by side.

Routes: ``/`` (the list), ``/api/runs`` (the list as JSON, polled every 2 s by the page),
``/runs/<run>/<file>`` (a file of a run folder, e.g. report.html), ``/compare?runs=a,b``."""

from __future__ import annotations

import html
import json
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from medtrust.report.format import fmt, fmt_interval
from medtrust.view.runs import compare, list_runs

PAGE = Path(__file__).with_name("index.html")


class ViewHandler(BaseHTTPRequestHandler):
    """Serves one runs folder (``server.root``); nothing outside it."""

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        root: Path = self.server.root  # type: ignore[attr-defined]
        if url.path == "/":
            return self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        if url.path == "/api/runs":
            return self._send(200, json.dumps({"root": str(root), "runs": list_runs(root)}).encode(),
                              "application/json")
        if url.path == "/compare":
            names = [n for n in parse_qs(url.query).get("runs", [""])[0].split(",") if n]
            return self._compare(root, names)
        if url.path.startswith("/runs/"):
            target = (root / unquote(url.path[len("/runs/"):])).resolve()
            if not target.is_relative_to(root.resolve()) or not target.is_file():
                return self._send(404, b"not found", "text/plain")
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            return self._send(200, target.read_bytes(), kind + ("; charset=utf-8" if kind.startswith("text") else ""))
        return self._send(404, b"not found", "text/plain")

    def _compare(self, root: Path, names: list[str]):
        bad = [n for n in names if "/" in n or not (root / n / "config.yaml").is_file()]
        if len(names) < 2 or bad:
            return self._send(400, f"give two or more run folders of {root} ({', '.join(bad) or 'too few'})".encode(),
                              "text/plain; charset=utf-8")
        try:
            result = compare(root, names)
        except ValueError as e:
            return self._send(400, str(e).encode(), "text/plain; charset=utf-8")
        return self._send(200, compare_page(result).encode(), "text/html; charset=utf-8")

    def _send(self, status: int, body: bytes, kind: str):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """No access log: the terminal shows only the address and how to stop."""


def compare_page(result: dict) -> str:
    """The comparison as one HTML page."""
    e = html.escape
    runs = result["runs"]
    head = "".join(f"<th><a href='/runs/{e(r)}/report.html'>{e(r)}</a></th>" for r in runs)
    body = ""
    for row in result["rows"]:
        cells = "".join(f"<td>{e(str(v))}{(' ' + e(str(c))) if c else ''}</td>"
                        for v, c in zip(row["values"], row["cis"]))
        body += f"<tr><td>{e(row['metric'])}</td>{cells}</tr>"
    paired = "".join(f"<tr><td>{e(p['run'])}</td><td>{e(p['score'])}</td><td>{fmt(p['baseline_mean'])}</td>"
                     f"<td>{fmt(p['mean'])}</td><td>{e(fmt_interval(p['difference']))}</td>"
                     f"<td>{p['difference'].get('n', '')}</td></tr>" for p in result["paired"])
    paired_html = (f"<h2>Paired differences to {e(runs[0])}</h2><p>Per-sample scores of the samples both runs hold; "
                   "the interval is a paired bootstrap (1,000 resamples of the shared samples, 90%).</p>"
                   "<table id='paired'><thead><tr><th>run</th><th>score</th><th>baseline mean</th><th>mean</th>"
                   f"<th>difference [90% CI]</th><th>shared samples</th></tr></thead><tbody>{paired}</tbody></table>"
                   if paired else ("<p>The runs share no samples: no paired differences.</p>" if not result["shared"]
                                   else f"<p>The runs share {result['shared']} samples but no per-sample score (a "
                                   "number or yes/no under <code>scores</code>): no paired differences.</p>"))
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>compare {e(result['study'])} runs</title>"
            f"<style>{STYLE}</style><p><a href='/'>&larr; all runs</a></p><h1>{e(result['study'])}: "
            f"{len(runs)} runs side by side</h1>{paired_html}<h2>Every metric</h2><table id='metrics'><thead><tr>"
            f"<th>metric</th>{head}</tr></thead><tbody>{body}</tbody></table></html>")


STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1300px;padding:0 1rem;color:#1d2330}"
         "table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #e5e7ef;"
         "padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f4f5f9}")


def serve(root: str | Path, port: int = 0) -> ThreadingHTTPServer:
    """A started server on 127.0.0.1:``port`` (0: any free port) in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", port), ViewHandler)
    server.daemon_threads = True
    server.root = Path(root).resolve()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
