"""A real HTTP server on 127.0.0.1 for the pull tests: serves files with Range support, a PEP 503
simple index for wheels, and can drop a connection part-way through a body (a truncated transfer)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Behaviour:
    """What the server does: files by URL path, how many bytes to send before dropping, pacing."""

    files: dict[str, Path] = field(default_factory=dict)
    drop_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before the connection is cut
    drops_left: dict[str, int] = field(default_factory=dict)  # path -> how many responses are cut (default: all)
    delay_per_chunk_s: float = 0.0
    ranges_seen: list[str] = field(default_factory=list)


def _handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("#")[0]
            if path.startswith("/simple/"):
                return self._index(path)
            file = behaviour.files.get(path)
            if file is None:
                self.send_error(404)
                return
            data = file.read_bytes()
            start = 0
            header = self.headers.get("Range")
            if header:
                behaviour.ranges_seen.append(header)
                start = int(header.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            limit = len(body)
            if path in behaviour.drop_after and behaviour.drops_left.get(path, 1) > 0:
                limit = min(limit, behaviour.drop_after[path])
                if path in behaviour.drops_left:
                    behaviour.drops_left[path] -= 1
            for offset in range(0, limit, 4096):
                self.wfile.write(body[offset:min(offset + 4096, limit)])
                if behaviour.delay_per_chunk_s:
                    time.sleep(behaviour.delay_per_chunk_s)
            if limit < len(body):
                self.close_connection = True  # cut: the client sees fewer bytes than Content-Length

        def _index(self, path: str) -> None:
            project = path.removeprefix("/simple/").strip("/")
            links = [
                f'<a href="/{name}#sha256={hashlib.sha256(file.read_bytes()).hexdigest()}">{name.rsplit("/", 1)[-1]}</a>'
                for name, file in ((p.lstrip("/"), f) for p, f in behaviour.files.items())
                if name.endswith(".whl") and name.rsplit("/", 1)[-1].split("-")[0].lower().replace("_", "-") == project
            ]
            if not links:
                self.send_error(404)
                return
            body = ("<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(behaviour: Behaviour) -> Iterator[str]:
    """Serve `behaviour` on a free port of 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
