"""``tqse serve``'s JSON API against a real server on a free loopback port (tiny random model, hash encoder)."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
from serve_helpers import Client, start, wav_bytes

from tqse.serve.server import make_server, stop

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_error(reply, status: int, *words: str) -> None:
    """A JSON error with the given status and message words, never a traceback."""
    assert reply.status == status, reply.body
    data = reply.json()
    assert data["status"] == status and data["error"]
    assert "Traceback" not in data["error"]
    for word in words:
        assert word in data["error"], data["error"]


def test_health_and_models(client):
    health = client.get("/api/health")
    assert health.status == 200
    data = health.json()
    assert data["status"] == "ok" and data["model"] == "tiny"
    assert data["limits"]["max_upload_mb"] == 1.0 and data["limits"]["max_seconds"] == 20.0
    models = client.get("/api/models").json()["models"]
    assert models[0]["loaded"] and models[0]["name"] == "tiny"
    assert models[0]["sample_rate"] == 32000 and models[0]["encoder"] == "hash" and models[0]["parameters"] > 0


def test_page_and_assets_are_served_and_offline(client):
    page = client.get("/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    for asset in ("/static/app.js", "/static/style.css"):
        reply = client.get(asset)
        assert reply.status == 200
        assert b"http://" not in reply.body and b"https://" not in reply.body, f"{asset} reaches outside"
    assert b"http://" not in page.body and b"https://" not in page.body
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/api/colorbar.png").body.startswith(PNG_MAGIC)


def test_examples_are_listed_and_playable(client):
    catalogue = client.get("/api/examples").json()
    assert len(catalogue["mixtures"]) >= 12 and len(catalogue["queries"]) >= 3
    assert catalogue["mixtures"][0]["id"] == "voice-over-traffic"  # the demo set first
    for item in catalogue["mixtures"] + catalogue["queries"]:
        reply = client.get(item["url"])
        assert reply.status == 200 and reply.headers["Content-Type"] == "audio/wav"
        wav, rate = sf.read(io.BytesIO(reply.body))
        assert rate in (16000, 32000) and len(wav) > rate  # the demo set is 16 kHz, the fixture 32 kHz
        assert all(source["credit"] for source in item["sources"])


def test_extract_example_with_text_query_gives_three_stems_and_spectrograms(client):
    reply = client.extract(fields={"example": "bell-piano", "query": "a bell rings"})
    assert reply.status == 200, reply.body
    job = reply.json()
    assert job["status"] == "done", job
    result = job["result"]
    assert result["model"] == "tiny" and result["query"] == "a bell rings"
    stems = {}
    for name in ("mixture", "extracted", "residual"):
        wav_reply = client.get(result["files"][name]["wav"])
        assert wav_reply.status == 200 and "attachment" in wav_reply.headers["Content-Disposition"]
        stems[name], rate = sf.read(io.BytesIO(wav_reply.body))
        assert rate == 32000
        png = client.get(result["files"][name]["png"])
        assert png.status == 200 and png.body.startswith(PNG_MAGIC)
    assert len(stems["mixture"]) == len(stems["extracted"]) == len(stems["residual"])
    np.testing.assert_allclose(stems["extracted"] + stems["residual"], stems["mixture"], atol=2e-4)
    scale = result["spectrogram"]
    assert scale["db_max"] - scale["db_min"] == pytest.approx(80) and scale["max_hz"] == 16000


def test_uploaded_stereo_flac_and_audio_query_keep_rate_and_channels(client):
    files = {"mixture": ("mix.flac", wav_bytes(3.0, 44100, channels=2, fmt="FLAC")),
             "audio_query": ("q.wav", wav_bytes(1.0, 16000, seed=1))}
    job = client.extract(files=files).json()
    assert job["status"] == "done", job
    assert job["result"]["query"] == "uploaded audio query"
    wav, rate = sf.read(io.BytesIO(client.get(job["result"]["files"]["extracted"]["wav"]).body))
    assert rate == 44100 and wav.shape == (3 * 44100, 2)


def test_bundled_audio_query_example(client):
    job = client.extract(fields={"example": "guitar-choir", "query_example": "guitar"}).json()
    assert job["status"] == "done" and job["result"]["query"].startswith("audio example")


def test_progress_is_reported_by_polling(client):
    reply = client.extract(wait=0, files={"mixture": ("m.wav", wav_bytes(15.0, 16000))}, fields={"query": "a tone"})
    assert reply.status in (200, 202)
    job_id = reply.json()["id"]
    assert reply.headers["Location"] == f"/api/jobs/{job_id}"
    seen = set()
    for _ in range(600):
        job = client.get(f"/api/jobs/{job_id}").json()
        seen.add(job["progress"])
        if job["status"] == "done":
            break
        threading.Event().wait(0.05)
    assert job["status"] == "done" and job["progress"] == 1.0
    assert all(0.0 <= p <= 1.0 for p in seen)


def test_oversized_upload_is_413_and_the_server_keeps_serving(client):
    big = wav_bytes(40.0, 16000)  # ~1.3 MB, limit 1 MB
    assert_error(client.extract(files={"mixture": ("big.wav", big)}, fields={"query": "x"}), 413, "MB")
    assert client.get("/api/health").status == 200


def test_too_long_audio_is_413_naming_the_limit(client):
    long_quiet = wav_bytes(25.0, 4000)  # 25 s but only 200 kB
    assert_error(client.extract(files={"mixture": ("l.wav", long_quiet)}, fields={"query": "x"}), 413, "20 s")


@pytest.mark.parametrize("data", [b"not audio at all" * 100, b"RIFF\x00\x00\x00\x00WAVEfmt garbage",
                                  bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8))])
def test_garbage_bytes_are_415_whatever_the_extension(client, data):
    reply = client.extract(files={"mixture": ("looks_fine.wav", data)}, fields={"query": "a dog"})
    assert_error(reply, 415, "decode")


def test_empty_and_silent_uploads_are_400(client):
    assert_error(client.extract(files={"mixture": ("e.wav", b"")}, fields={"query": "x"}), 400, "empty")
    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000, np.float32), 16000, format="WAV")
    assert_error(client.extract(files={"mixture": ("s.wav", buf.getvalue())}, fields={"query": "x"}), 400, "silent")


@pytest.mark.parametrize("fields,files,words", [
    ({"example": "bell-piano"}, {}, ["exactly one query"]),
    ({"example": "bell-piano", "query": "   "}, {}, ["exactly one query"]),
    ({"example": "bell-piano", "query": "bell", "query_example": "bell"}, {}, ["exactly one query"]),
    ({"query": "bell"}, {}, ["mixture"]),
    ({"example": "nope", "query": "bell"}, {}, ["unknown id"]),
    ({"example": "bell-piano", "query_example": "../../etc/passwd"}, {}, ["unknown id"]),
    ({"example": "bell-piano", "query": "bell", "path": "/etc/passwd"}, {}, ["unknown form field"]),
    ({"example": "bell-piano", "query": "x" * 501}, {}, ["longer than"]),
])
def test_missing_or_bad_fields_are_400(client, fields, files, words):
    assert_error(client.extract(fields=fields, files=files), 400, *words)


@pytest.mark.parametrize("filename", ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow",
                                      "a/../../b.wav", "%2e%2e%2fx.wav", "\x00.wav"])
def test_traversal_looking_filenames_are_only_names(client, tmp_path, filename):
    """The file name of an upload is never used: the audio is decoded from memory and results get server names."""
    job = client.extract(files={"mixture": (filename, wav_bytes(1.0, 16000))}, fields={"query": "x"}).json()
    assert job["status"] == "done"
    for links in job["result"]["files"].values():
        assert filename not in links["wav"] and ".." not in links["wav"]


@pytest.mark.parametrize("path", ["/static/../../../../etc/passwd", "/static/..%2f..%2fpyproject.toml",
                                  "/static/%2e%2e/%2e%2e/etc/passwd", "/api/jobs/../../etc/passwd",
                                  "/api/jobs/" + "0" * 32 + "/wav/../../../etc/passwd",
                                  "/api/examples/mixtures/..%2f..%2ffixture%2fclips.jsonl",
                                  "/api/examples/../../assets/fixture/clips.jsonl", "//etc/passwd", "/nope"])
def test_traversal_looking_urls_are_404(client, path):
    assert_error(client.get(path), 404)


def test_result_file_names_are_a_closed_set(client):
    job = client.extract(fields={"example": "bell-piano", "query": "bell"}).json()
    base = f"/api/jobs/{job['id']}"
    assert client.get(f"{base}/wav/mixture.wav").status == 200
    for bad in ("wav/mixture.png", "png/../mixture.wav", "wav/secret.wav", "txt/mixture.txt", "wav/..%2fmixture.wav"):
        assert_error(client.get(f"{base}/{bad}"), 404)


def test_malformed_requests_are_4xx_with_a_message(client, server):
    assert_error(client.request("POST", "/api/extract", b"{}", {"Content-Type": "application/json"}), 415)
    assert_error(client.request("POST", "/api/extract", b"--x\r\nbroken", {"Content-Type": "multipart/form-data; boundary=x"}), 400)
    assert_error(client.request("POST", "/api/extract", b"", {"Content-Type": "multipart/form-data"}), 400, "boundary")
    assert_error(client.request("POST", "/api/extract", b"a=b", {"Content-Type": "application/x-www-form-urlencoded",
                                                                  "Content-Length": "x"}), 411)
    assert_error(client.request("POST", "/api/extract?wait=soon", b"example=bell-piano&query=x",
                                {"Content-Type": "application/x-www-form-urlencoded"}), 400, "wait")
    assert_error(client.request("PUT", "/api/extract", b""), 405)
    assert_error(client.request("POST", "/api/other", b""), 404)
    assert_error(client.get("/api/jobs/not-a-job"), 404)
    with socket.create_connection(server.server_address[:2], timeout=10) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        raw = sock.recv(4096)
    assert b'"status": 400' in raw and b"Traceback" not in raw  # an unparsable request line gets a bare body


def test_urlencoded_form_works_for_curl_d(client):
    reply = client.request("POST", "/api/extract?wait=60", b"example=drums-glass&query=a+drum+loop",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200 and reply.json()["result"]["query"] == "a drum loop"


def test_twenty_concurrent_requests_all_queue_and_finish(client):
    def one(i: int):
        fields = {"query": f"sound {i}"}
        return client.extract(wait=120, files={"mixture": (f"{i}.wav", wav_bytes(1.0, 16000, seed=i))}, fields=fields)

    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(one, range(20)))
    assert [r.status for r in replies] == [200] * 20
    assert all(r.json()["status"] == "done" for r in replies)
    assert len({r.json()["id"] for r in replies}) == 20


def test_full_queue_answers_503_with_a_message(tiny_model):
    server = start(tiny_model, max_queue=2)
    gate = threading.Event()
    real = server.service.jobs.process
    server.service.jobs.process = lambda *args: (gate.wait(30), real(*args))[1]
    client = Client(server)
    try:
        def one(i: int):
            return client.extract(wait=0, fields={"example": "bell-piano", "query": f"q{i}"})

        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(one, range(20)))
        statuses = sorted(r.status for r in replies)
        assert statuses.count(202) == 2 and statuses.count(503) == 18, statuses
        busy = next(r for r in replies if r.status == 503)
        assert_error(busy, 503, "busy")
        assert busy.headers["Retry-After"]
        gate.set()
        accepted = [r.json()["id"] for r in replies if r.status == 202]
        for job_id in accepted:
            for _ in range(400):
                if client.get(f"/api/jobs/{job_id}").json()["status"] == "done":
                    break
                threading.Event().wait(0.05)
            assert client.get(f"/api/jobs/{job_id}").json()["status"] == "done"
    finally:
        gate.set()
        stop(server)


def test_temporary_files_are_removed_on_delete_and_on_shutdown(tiny_model):
    server = start(tiny_model)
    client = Client(server)
    root = server.service.jobs.root
    job = client.extract(fields={"example": "bell-piano", "query": "bell"}).json()
    assert (root / job["id"] / "extracted.wav").exists()
    assert client.request("DELETE", f"/api/jobs/{job['id']}").status == 200
    assert not (root / job["id"]).exists()
    assert_error(client.get(f"/api/jobs/{job['id']}"), 404)
    client.extract(fields={"example": "bell-piano", "query": "bell"})
    stop(server)
    assert not root.exists()


def test_results_expire(tiny_model):
    server = start(tiny_model, max_kept_jobs=1)
    client = Client(server)
    try:
        first = client.extract(fields={"example": "bell-piano", "query": "a"}).json()
        client.extract(fields={"example": "bell-piano", "query": "b"})
        client.extract(fields={"example": "bell-piano", "query": "c"})
        assert_error(client.get(first["result"]["files"]["extracted"]["wav"]), 404)
        assert len(list(server.service.jobs.root.iterdir())) <= 2
    finally:
        stop(server)


def test_binding_beyond_loopback_warns(tiny_model, caplog):
    from tqse.serve.service import ExtractService, ServeConfig

    service = ExtractService(ServeConfig(device="cpu"), model_dir=tiny_model)
    with caplog.at_level(logging.WARNING, logger="tqse.serve.server"):
        server = make_server(service, "0.0.0.0", 0)
    try:
        assert any("reachable from other machines" in r.getMessage() for r in caplog.records)
    finally:
        server.server_close()
        service.close()


def test_job_json_is_plain_json(client):
    job = client.extract(fields={"example": "bell-piano", "query": "a bell"}).json()
    assert json.loads(json.dumps(job)) == job


def test_a_one_sample_audio_query_upload_is_a_one_line_job_error(client):
    """Issue 25: 1 sample at 44.1 kHz has none left at the encoder's rate (was a torch padding traceback)."""
    buf = io.BytesIO()
    sf.write(buf, np.full(1, 0.5, np.float32), 44100, format="WAV")
    job = client.extract(fields={"example": "bell-piano"}, files={"audio_query": ("one.wav", buf.getvalue())}).json()
    assert job["status"] == "error" and "too short" in job["error"] and "Traceback" not in job["error"], job


def test_the_header_links_the_full_model_card_when_there_is_one(client, server):
    model = client.get("/api/models").json()["models"][0]
    assert model["loaded"] and model["figures"] == [] and model["trained_on"] == ""
    assert not model["has_card"]  # the tiny test model has no README.md
    assert_error(client.get("/api/card"), 404, "has no card")
    card = server.service.model_dir / "README.md"
    card.write_text("---\nlibrary_name: tqse\n---\n# tiny\n")
    try:
        assert client.get("/api/models").json()["models"][0]["has_card"] is False  # read once, at start
        reply = client.get("/api/card")
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
        assert reply.body.startswith(b"---\nlibrary_name: tqse")
    finally:
        card.unlink()
