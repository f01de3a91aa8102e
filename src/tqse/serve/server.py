"""The HTTP layer: the standard library's ``ThreadingHTTPServer`` (docs/SERVE.md says why), JSON everywhere.

No part of a URL or an uploaded file name ever becomes a file-system path: static files come from a fixed
table, results from the job's folder under names the server chose, job ids must be 32 hex digits. Every
error is JSON ``{"error": message, "status": code}``; an unexpected exception is logged and answered with a
plain 500 message, never with a traceback.
"""

from __future__ import annotations

import email.message
import json
import logging
import re
import shutil
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from tqse import __version__
from tqse.serve import examples
from tqse.serve.jobs import QueueFull, UserFacingError
from tqse.errors import ConfigError
from tqse.serve.service import STEMS, ExtractService, NotAudio, ServeConfig, TooLong, build_request
from tqse.serve.spectrogram import colorbar

log = logging.getLogger(__name__)

STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "recorder.js": "text/javascript; charset=utf-8", "recorder-worklet.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The page may load nothing from anywhere else (no CDN, fonts or trackers), and may not be framed.
PAGE_POLICY = ("default-src 'self'; media-src 'self' blob:; img-src 'self'; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_WAIT_S = 600.0


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class TqseHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: socketserver's default of 5 makes the kernel reset connections when a burst of
    # clients (the page's polling plus a few uploads, or the 20-request test) arrives at once.
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: ExtractService):
        self.service = service
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: TqseHTTPServer
    server_version = f"tqse/{__version__}"
    timeout = 60  # seconds per socket operation: a stalled client cannot hold a thread forever

    # -- dispatch ----------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch(self._get)

    def do_HEAD(self) -> None:
        self._dispatch(self._get)

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def do_DELETE(self) -> None:
        self._dispatch(self._delete)

    def do_PUT(self) -> None:
        self._dispatch(self._not_allowed)

    do_PATCH = do_PUT

    def _dispatch(self, route) -> None:
        try:
            path = urllib.parse.urlsplit(self.path).path
            route(path)
        except HTTPError as err:
            self._json({"error": err.message, "status": err.status}, err.status, err.headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            log.exception("%s %s failed", self.command, self.path)
            self._json({"error": "internal server error (the server log has the details)", "status": 500}, 500)

    def _not_allowed(self, path: str) -> None:
        raise HTTPError(405, f"method {self.command} is not allowed here")

    # -- routes ------------------------------------------------------------------------------------------
    def _get(self, path: str) -> None:
        service = self.server.service
        if path in ("/", "/index.html"):
            return self._static("index.html")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        if path == "/api/health":
            return self._json({"status": "ok", "version": __version__, "model": service.card["name"],
                               "queue": service.jobs.stats(), "limits": self._limits()})
        if path == "/api/models":
            return self._json({"models": service.models()})
        if path == "/api/card":
            card = service.model_dir / "README.md"
            if not card.is_file():
                raise HTTPError(404, f"model {service.card['name']} has no card (README.md)")
            return self._bytes(card.read_bytes(), "text/plain; charset=utf-8")
        if path == "/api/examples":
            return self._json(examples.catalogue())
        if path == "/api/describe":
            return self._describe()
        if path == "/api/colorbar.png":
            return self._bytes(colorbar(), "image/png")
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["api", "examples"]:
            return self._example(parts[2], parts[3])
        if len(parts) >= 3 and parts[:2] == ["api", "jobs"]:
            job = self._job(parts[2])
            if len(parts) == 3:
                return self._json(self._job_json(job))
            if len(parts) == 5:
                return self._result_file(job, parts[3], parts[4])
        raise HTTPError(404, f"no such page: {path[:100]}")

    def _post(self, path: str) -> None:
        if path != "/api/extract":
            raise HTTPError(404 if path.startswith("/api/") else 405, f"cannot POST to {path[:100]}")
        service = self.server.service
        wait = self._wait_seconds()
        fields = self._read_form()
        try:
            request = build_request(fields, service.config)
        except TooLong as err:
            raise HTTPError(413, str(err)) from None
        except NotAudio as err:
            raise HTTPError(415, str(err)) from None
        except UserFacingError as err:
            raise HTTPError(400, str(err)) from None
        try:
            job = service.jobs.submit(request)
        except QueueFull as err:
            raise HTTPError(503, str(err), {"Retry-After": "5"}) from None
        deadline = time.monotonic() + wait
        while wait and job.status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
        done = job.status in ("done", "error")
        self._json(self._job_json(job), 200 if done else 202, {"Location": f"/api/jobs/{job.id}"})

    def _describe(self) -> None:
        """``GET /api/describe?q=TEXT``: what the loaded model understands TEXT as (400 for a bad query)."""
        values = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True).get("q", [])
        if len(values) != 1:
            raise HTTPError(400, "give the text query once: /api/describe?q=TEXT")
        try:
            self._json(self.server.service.describe(values[0]))
        except UserFacingError as err:
            raise HTTPError(400, str(err)) from None

    def _delete(self, path: str) -> None:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["api", "jobs"]:
            raise HTTPError(405, f"cannot DELETE {path[:100]}")
        job = self._job(parts[2])
        if not self.server.service.jobs.delete(job.id):
            raise HTTPError(409, "the job is still queued or running")
        self._json({"deleted": job.id})

    # -- helpers -----------------------------------------------------------------------------------------
    def _limits(self) -> dict:
        config = self.server.service.config
        return {"max_upload_mb": config.max_upload_mb, "max_seconds": config.max_seconds,
                "max_queue": config.max_queue, "result_ttl_s": config.result_ttl_s}

    def _wait_seconds(self) -> float:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            return min(max(float(query.get("wait", ["0"])[0]), 0.0), MAX_WAIT_S)
        except ValueError:
            raise HTTPError(400, "wait must be a number of seconds") from None

    def _job(self, job_id: str):
        job = self.server.service.jobs.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPError(404, "no such job (unknown id, or its results expired)")
        return job

    def _job_json(self, job) -> dict:
        data = job.to_json(self.server.service.jobs.position(job))
        if "result" in data:
            files = {stem: {kind: f"/api/jobs/{job.id}/{rel}" for kind, rel in links.items()}
                     for stem, links in data["result"]["files"].items()}
            data["result"] = {**data["result"], "files": files}
        return data

    def _result_file(self, job, kind: str, name: str) -> None:
        stem, _, ext = name.partition(".")
        if kind not in ("wav", "png") or ext != kind or stem not in STEMS:
            raise HTTPError(404, "no such result file")
        if job.status != "done" or job.folder is None:
            raise HTTPError(409, f"the job is {job.status}, no results to download")
        path = job.folder / f"{stem}.{kind}"
        if not path.is_file():
            raise HTTPError(404, "the results of this job expired")
        disposition = f'attachment; filename="tqse_{stem}.wav"' if kind == "wav" else None
        with open(path, "rb") as f:
            size = path.stat().st_size
            self._headers(200, "audio/wav" if kind == "wav" else "image/png", size,
                          {"Content-Disposition": disposition} if disposition else {})
            if self.command != "HEAD":
                shutil.copyfileobj(f, self.wfile)

    def _example(self, kind: str, name: str) -> None:
        key, _, ext = name.partition(".")
        if ext != "wav" or kind not in ("mixtures", "queries"):
            raise HTTPError(404, "no such example")
        table = examples.MIXTURES if kind == "mixtures" else examples.QUERIES
        if key not in table:
            raise HTTPError(404, "no such example")
        wav, rate = (examples.mixture_audio if kind == "mixtures" else examples.query_audio)(key)
        import io

        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, wav, rate, format="WAV", subtype="PCM_16")
        self._bytes(buf.getvalue(), "audio/wav")

    def _static(self, name: str) -> None:
        if name not in STATIC:
            raise HTTPError(404, "no such file")
        data = (resources.files("tqse") / "assets" / "web" / name).read_bytes()
        self._bytes(data, STATIC[name], {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY})

    def _read_form(self) -> dict[str, tuple[bytes, bool]]:
        """The request body as form fields: name -> (value bytes, came as a file)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HTTPError(411, "send the body with a Content-Length (chunked uploads are not accepted)")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise HTTPError(411, "a Content-Length header is required") from None
        limit = int(self.server.service.config.max_upload_mb * 1024 * 1024)
        if length < 0:
            raise HTTPError(400, "negative Content-Length")
        if length > limit:
            self._drain(length, limit)
            raise HTTPError(413, f"the upload is {length / 2**20:.1f} MB; this server accepts at most "
                                 f"{limit / 2**20:g} MB", {"Connection": "close"})
        body = self.rfile.read(length)
        if len(body) != length:
            raise HTTPError(400, "the request body ended before Content-Length bytes")
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            return parse_multipart(body, ctype)
        if ctype.startswith("application/x-www-form-urlencoded"):
            try:
                pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                raise HTTPError(400, "the form is not valid UTF-8") from None
            return {k: (v.encode(), False) for k, v in pairs}
        raise HTTPError(415, "send multipart/form-data (files) or application/x-www-form-urlencoded (text fields)")

    def _drain(self, length: int, limit: int) -> None:
        """Read and drop a too-large body (up to 4x the limit) so the client gets the 413 instead of a reset."""
        self.close_connection = True
        if length > 4 * limit:
            return
        remaining = length
        while remaining > 0:
            data = self.rfile.read(min(remaining, 1 << 20))
            if not data:
                return
            remaining -= len(data)

    def _headers(self, status: int, ctype: str, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _bytes(self, data: bytes, ctype: str, extra: dict[str, str] | None = None, status: int = 200) -> None:
        self._headers(status, ctype, len(data), extra)
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, data: dict, status: int = 200, extra: dict[str, str] | None = None) -> None:
        self._bytes(json.dumps(data).encode(), "application/json", extra, status)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines and unknown methods: JSON like every other error."""
        self.close_connection = True
        try:
            text = message or HTTPStatus(code).phrase
        except ValueError:
            text = "error"
        self._json({"error": text, "status": code}, code)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s %s", self.address_string(), format % args)


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[bytes, bool]]:
    """``multipart/form-data`` -> name -> (bytes, is_file). File names are ignored: they are never used."""
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not boundary or not isinstance(boundary, str):
        raise HTTPError(400, "multipart/form-data without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise HTTPError(400, "malformed multipart body (missing closing boundary)")
    fields: dict[str, tuple[bytes, bool]] = {}
    for chunk in chunks[1:-1]:
        head, sep, value = chunk.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"\r\n") or not value.endswith(b"\r\n"):
            raise HTTPError(400, "malformed multipart part")
        part = email.message.Message()
        for line in head[2:].decode("latin-1").split("\r\n"):
            key, colon, val = line.partition(":")
            if colon:
                part[key.strip()] = val.strip()
        name = part.get_param("name", header="content-disposition")
        if not name or not isinstance(name, str):
            raise HTTPError(400, "a multipart part has no field name")
        if name in fields:
            raise HTTPError(400, f"field '{name}' given twice")
        fields[name] = (value[:-2], part.get_param("filename", header="content-disposition") is not None)
    return fields


def make_server(service: ExtractService, host: str = "127.0.0.1", port: int = 8080) -> TqseHTTPServer:
    if host not in LOOPBACK:
        log.warning("listening on %s: the page and its API are reachable from other machines, without any "
                    "authentication; use --host 127.0.0.1 to keep it local (pages opened from another machine over "
                    "plain http cannot record from the microphone: browsers allow it only on localhost or https)",
                    host)
    return TqseHTTPServer((host, port), service)


def start_in_thread(service: ExtractService, host: str = "127.0.0.1", port: int = 0) -> TqseHTTPServer:
    """A running server on a background thread (tests; port 0 = a free port). Stop it with ``stop(server)``."""
    server = make_server(service, host, port)
    threading.Thread(target=server.serve_forever, name="tqse-serve-http", daemon=True).start()
    return server


def stop(server: TqseHTTPServer) -> None:
    server.shutdown()
    server.server_close()
    server.service.close()


def serve(config: ServeConfig) -> None:
    """Load the model once, listen, and serve until Ctrl-C or SIGTERM; temporary files go with the process."""
    import signal

    config.validate()

    def terminate(signum, frame):  # SIGTERM: leave through the same `finally` as Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    service = server = None
    try:
        service = ExtractService(config)
        try:
            server = make_server(service, config.host, config.port)
        except OSError as err:
            raise ConfigError(f"cannot listen on {config.host}:{config.port} ({err.strerror or err})") from None
        print(f"tqse serve: model {service.card['name']} ready on {server.url}  (Ctrl-C stops)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.server_close()
        if service is not None:
            service.close()
            log.info("stopped; temporary files removed")
