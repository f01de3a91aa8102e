"""``tqse serve`` pieces without a server: spectrogram PNGs, multipart parsing, model resolution, the CLI."""

from __future__ import annotations

import json
import struct
import threading
import zlib

import numpy as np
import pytest

from tqse.cli import main
from tqse.errors import CheckpointError
from tqse.serve import spectrogram
from tqse.serve.jobs import JobQueue, QueueFull, UserFacingError
from tqse.serve.server import HTTPError, parse_multipart
from tqse.models.pretrained import resolve_model
from tqse.serve.service import model_summary


def decode_png(data: bytes) -> np.ndarray:
    """Our PNGs only: one IDAT, filter 0, 8-bit RGB."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body, crc = data[pos + 8:pos + 8 + length], data[pos + 8 + length:pos + 12 + length]
        assert struct.unpack(">I", crc)[0] == zlib.crc32(kind + body) & 0xFFFFFFFF
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 3 * width)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 3)


def test_png_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(spectrogram.png(image)), image)


def test_spectrogram_puts_a_tone_at_its_mel_row_with_low_frequencies_at_the_bottom():
    rate, f0 = 16000, 2000.0
    t = np.arange(rate) / rate
    db = spectrogram.power_db(np.sin(2 * np.pi * f0 * t))
    scale = spectrogram.shared_scale(db, 1.0, rate)
    image = decode_png(spectrogram.render(db, scale, width=100, height=80))
    brightness = image.astype(float).sum(axis=(1, 2))
    row_from_bottom = 80 - 1 - int(np.argmax(brightness))
    mel_per_row = spectrogram.hz_to_mel(rate / 2) / 80
    assert abs((row_from_bottom + 0.5) * mel_per_row - spectrogram.hz_to_mel(f0)) < 1.5 * mel_per_row
    assert scale.db_max - scale.db_min == 80


def test_shared_scale_makes_a_quieter_stem_darker():
    rate = 16000
    loud = np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    scale = spectrogram.shared_scale(spectrogram.power_db(loud), 1.0, rate)
    bright = decode_png(spectrogram.render(spectrogram.power_db(loud), scale)).astype(float).mean()
    dark = decode_png(spectrogram.render(spectrogram.power_db(0.01 * loud), scale)).astype(float).mean()
    assert dark < bright


def test_colormap_gets_brighter():
    lut = spectrogram.colormap().astype(float).sum(axis=1)
    assert lut[0] < lut[128] < lut[-1]
    assert decode_png(spectrogram.colorbar(50, 4)).shape == (50, 4, 3)


def test_multipart_parser_keeps_binary_payloads_and_ignores_file_names():
    payload = bytes(range(256)) * 3 + b"\r\n--not-the-boundary\r\n"
    body = (b"--B\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\na dog\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"mixture\"; filename=\"../../x.wav\"\r\n"
            b"Content-Type: audio/wav\r\n\r\n" + payload + b"\r\n--B--\r\n")
    fields = parse_multipart(body, "multipart/form-data; boundary=B")
    assert fields == {"query": (b"a dog", False), "mixture": (payload, True)}


@pytest.mark.parametrize("body", [b"", b"--B\r\nno headers end", b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n",
                                  b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
                                  b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\ny\r\n--B--\r\n"])
def test_multipart_parser_rejects_malformed_bodies(body):
    with pytest.raises(HTTPError) as err:
        parse_multipart(body, "multipart/form-data; boundary=B")
    assert err.value.status == 400


def test_job_queue_runs_in_order_refuses_when_full_and_cleans_up():
    gate, seen = threading.Event(), []

    def process(payload, folder, progress):
        gate.wait(10)
        if payload == "bad":
            raise UserFacingError("bad payload")
        (folder / "out.txt").write_text(payload)
        seen.append(payload)
        return {"ok": payload}

    jobs = JobQueue(process, max_queue=3)
    a, b, c = jobs.submit("a"), jobs.submit("bad"), jobs.submit("c")
    with pytest.raises(QueueFull):
        jobs.submit("d")
    gate.set()
    for _ in range(200):
        if c.status == "done":
            break
        threading.Event().wait(0.02)
    assert (a.status, b.status, c.status) == ("done", "error", "done") and seen == ["a", "c"]
    assert b.error == "bad payload" and not (jobs.root / b.id).exists()
    assert (jobs.root / a.id / "out.txt").exists()
    jobs.close()
    assert not jobs.root.exists()


def test_an_unexpected_error_in_a_job_is_reported_without_details():
    def process(payload, folder, progress):
        raise KeyError("secret internal detail")

    jobs = JobQueue(process)
    job = jobs.submit(None)
    for _ in range(200):
        if job.status == "error":
            break
        threading.Event().wait(0.02)
    assert job.status == "error" and "secret" not in job.error and "internal error" in job.error
    assert jobs.submit(None)  # the worker survived
    jobs.close()


def test_resolve_model_by_directory_and_by_name(tiny_model, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("TQSE_HOME", str(tmp_path))
    assert resolve_model(str(tiny_model)) == tiny_model
    shutil.copytree(tiny_model, tmp_path / "models" / "mine")
    assert resolve_model("mine") == tmp_path / "models" / "mine"
    with pytest.raises(CheckpointError, match="unknown model 'nothing-here'"):
        resolve_model("nothing-here")
    monkeypatch.setenv("TQSE_MODEL", str(tiny_model))
    assert resolve_model(None) == tiny_model


def test_model_summary_reads_scores(tmp_path):
    (tmp_path / "scores.json").write_text(json.dumps({"scores": {"test_caption": {"sdri": 4.2}}}))
    card = model_summary(tmp_path, {"model": "conformer", "sample_rate": 16000, "encoder": {"name": "builtin"}}, 10)
    assert card["scores"] == {"test_caption": {"sdri": 4.2}} and card["encoder"] == "builtin"
    assert model_summary(tmp_path / "x", {"trained_with": {"scores": {"a": 1}}})["scores"] == {"a": 1}


def test_cli_serve_help_and_bad_settings(tiny_model, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0 and "--max-upload-mb" in capsys.readouterr().out
    assert main(["serve", "--checkpoint", str(tiny_model), "--port", "70000"]) == 2
    assert "port" in capsys.readouterr().err
    assert main(["serve", "--checkpoint", str(tiny_model), "--max-queue", "0"]) == 2
    assert main(["serve", "--checkpoint", "/no/such/model"]) == 2
    assert "model" in capsys.readouterr().err


@pytest.mark.parametrize("option, value", [("--max-upload-mb", "inf"), ("--max-seconds", "nan"),
                                           ("--max-seconds", "-1"), ("--result-ttl", "inf")])
def test_cli_serve_refuses_non_finite_limits(tiny_model, capsys, option, value):
    """inf passed the old "> 0" check: --max-upload-mb inf then failed every upload (int(inf)), and the page
    cannot read Infinity from /api/health's JSON."""
    assert main(["serve", "--checkpoint", str(tiny_model), option, value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{option} {value}: must be a positive finite number" in err, err


def test_cli_serve_reports_a_busy_port(tiny_model, capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--checkpoint", str(tiny_model), "--port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_close_cancels_the_running_job_and_drops_queued_ones():
    started = threading.Event()

    def process(payload, folder, progress):
        started.set()
        for _ in range(1000):  # a long job that reports progress
            progress(0.5)
            threading.Event().wait(0.01)
        return {}

    jobs = JobQueue(process)
    running, queued = jobs.submit(1), jobs.submit(2)
    assert started.wait(10)
    jobs.close(timeout=5)
    assert not jobs._worker.is_alive() and not jobs.root.exists()
    assert running.status == queued.status == "error" and "shutting down" in running.error
