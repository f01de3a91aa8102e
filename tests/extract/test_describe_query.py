"""What a query was understood as, through every door (issue 23): the API (`Extractor.describe_query`), `tqse
extract -v` and the web page's JSON (`/api/describe`, and `understood` in a finished job). A tiny random
separator over the real built-in encoder (version 2): the description depends only on the encoder."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest

from tqse.extract.api import Extractor
from tqse.cli import main
from tqse.errors import QueryError
from tqse.data.locations import fixture_dir
from tqse.workflows.bench import random_model_dir as tiny_model_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))

FAMILIAR, UNFAMILIAR = "a barking hound", "my tax return for last year"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("models") / "tinybuiltin",
                          encoder={"name": "builtin", "path": None, "kwargs": {}}, query_dim=512)


@pytest.fixture(scope="module")
def extractor(model_dir):
    return Extractor.from_pretrained(model_dir, device="cpu")


def test_api_names_the_nearest_known_sounds_and_warns_on_a_far_query(extractor):
    familiar = extractor.describe_query(FAMILIAR)
    assert familiar.nearest[0][0] == "dog" and familiar.familiar is True and familiar.warning is None
    assert len(familiar.nearest) == 3 and familiar.nearest[0][1] > familiar.nearest[2][1]
    far = extractor.describe_query(UNFAMILIAR, top=2)
    assert far.familiar is False and len(far.nearest) == 2
    assert all(name in far.warning for name, _ in far.nearest)
    assert set(extractor.known_sounds()) >= {"dog", "wolf", "violin"}  # the corpus' sounds: none recorded


@pytest.mark.parametrize("query, message", [("", "empty"), (7, "string"), ("dog " * 1000, "characters long")])
def test_api_keeps_the_clear_error_for_bad_queries(extractor, query, message):
    with pytest.raises(QueryError, match=message):
        extractor.describe_query(query)


def test_a_model_that_records_its_classes_is_described_against_them(model_dir, tmp_path):
    import json

    folder = shutil.copytree(model_dir, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["trained_with"]["classes"] = ["violin", "rain"]
    (folder / "config.json").write_text(json.dumps(config))
    d = Extractor.from_pretrained(folder, device="cpu").describe_query(FAMILIAR)
    assert {name for name, _ in d.nearest} == {"violin", "rain"}


@pytest.fixture
def installed(tmp_path, monkeypatch, model_dir):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TQSE_HOME", str(tmp_path / "home"))
    shutil.copytree(model_dir, tmp_path / "home" / "models" / "tinybuiltin")
    return tmp_path


def _extract(*args: str) -> int:
    return main(["extract", str(fixture_dir() / "perc_bell.flac"), *args, "-n", "tinybuiltin",
                 "--chunk-seconds", "1", "--no-progress"])


def test_cli_verbose_shows_what_was_understood_and_always_warns(installed, caplog):
    with caplog.at_level(logging.DEBUG, logger="tqse"):
        assert _extract("-q", FAMILIAR, "-q", UNFAMILIAR, "-v") == 0
    understood = [r.getMessage() for r in caplog.records if "understood as" in r.getMessage()]
    assert len(understood) == 2 and "dog 0." in understood[0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "far from every sound" in r.getMessage()]
    assert len(warnings) == 1 and UNFAMILIAR in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tqse"):  # without -v: the warning still, the listing not
        assert _extract("-q", UNFAMILIAR, "-o", "out.wav") == 0
    assert "far from every sound" in caplog.text and "understood as" not in caplog.text


def test_cli_bad_query_is_one_line(installed, capsys):
    assert _extract("-q", "   ") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "empty" in err


def test_page_api_describes_as_one_types_and_with_each_result(model_dir):
    from serve_helpers import Client, start

    from tqse.serve.server import stop

    server = start(model_dir)
    try:
        client = Client(server)
        reply = client.get("/api/describe?q=a%20barking%20hound")
        assert reply.status == 200, reply.body
        assert reply.json()["nearest"][0]["class"] == "dog" and reply.json()["warning"] is None
        far = client.get("/api/describe?q=my%20tax%20return%20for%20last%20year").json()
        assert far["familiar"] is False and far["nearest"][0]["class"] in far["warning"]
        for path, words in [("/api/describe?q=", "empty"), ("/api/describe", "once"),
                            ("/api/describe?q=" + "x" * 600, "longer than")]:
            bad = client.get(path)
            assert bad.status == 400 and words in bad.json()["error"], (path, bad.body)
        job = client.extract(fields={"example": "bell-piano", "query": UNFAMILIAR}).json()
        assert job["status"] == "done", job
        assert job["result"]["understood"]["familiar"] is False and "far from every sound" in job["result"]["understood"]["warning"]
        page = client.get("/static/app.js").body.decode()
        assert "/api/describe?q=" in page and "result.understood" in page
        assert 'id="understood"' in client.get("/").body.decode()
    finally:
        stop(server)
