"""Test helpers for ``tqse serve``: a small stdlib HTTP client, multipart bodies, audio bytes, a server."""

from __future__ import annotations

import http.client
import io
import json
import uuid
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from tqse.serve.server import start_in_thread
from tqse.serve.service import ExtractService, ServeConfig


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class Client:
    """Just enough HTTP for the tests: raw paths (no normalisation), multipart bodies, any header."""

    def __init__(self, server):
        self.host, self.port = server.server_address[:2]

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 60) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str] | None = None,
                  files: dict[str, tuple[str, bytes]] | None = None) -> Reply:
        body, ctype = multipart(fields or {}, files or {})
        return self.request("POST", path, body, {"Content-Type": ctype})

    def extract(self, wait: float = 60, **kwargs) -> Reply:
        return self.post_form(f"/api/extract?wait={wait}", **kwargs)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, data) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def wav_bytes(seconds: float = 2.0, rate: int = 22050, channels: int = 1, fmt: str = "WAV", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wav = np.stack([0.3 * np.sin(2 * np.pi * (330 + 110 * c) * t) + 0.05 * rng.standard_normal(t.size)
                    for c in range(channels)], axis=1).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, wav, rate, format=fmt)
    return buf.getvalue()


def start(model_dir, **overrides):
    config = ServeConfig(port=0, device="cpu", **{"max_upload_mb": 1.0, "max_seconds": 20.0, **overrides})
    return start_in_thread(ExtractService(config, model_dir=model_dir), port=0)
