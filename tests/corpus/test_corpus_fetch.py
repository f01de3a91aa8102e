"""The fetch layer's fallbacks, with apt mocked (no network)."""

import json

from tqse.data.corpus import fetch


def _cached(cache, package, version):
    root = cache / "pkgs" / f"{package}_{version}"
    (root / "files").mkdir(parents=True)
    (root / "index.json").write_text(json.dumps({"package": package, "version": version, "files": []}))


def test_unavailable_and_uncached_package_is_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(fetch, "candidate_version", lambda p: None)
    monkeypatch.setattr(fetch, "_UPDATED", True)
    assert fetch.fetch_package("no-such-pkg", tmp_path, lambda rel: True) is None
    assert "not available from apt and not cached; skipped" in caplog.text


def test_unavailable_package_falls_back_to_the_cached_version(tmp_path, monkeypatch, caplog):
    _cached(tmp_path, "etw-data", "1.0-1")
    monkeypatch.setattr(fetch, "candidate_version", lambda p: None)
    monkeypatch.setattr(fetch, "_UPDATED", True)
    got = fetch.fetch_package("etw-data", tmp_path, lambda rel: True)
    assert got.version == "1.0-1" and "using cached version 1.0-1" in caplog.text


def test_a_failed_download_of_a_new_version_keeps_the_cached_one(tmp_path, monkeypatch, caplog):
    _cached(tmp_path, "etw-data", "1.0-1")
    monkeypatch.setattr(fetch, "candidate_version", lambda p: "2.0-1")

    def fail(package, version, debs):
        raise fetch.FetchError(f"{package}={version}: apt-get download failed: 404")

    monkeypatch.setattr(fetch, "_download", fail)
    got = fetch.fetch_package("etw-data", tmp_path, lambda rel: True)
    assert got.version == "1.0-1"
    assert "differs from apt's 2.0-1" in caplog.text and "404" in caplog.text


def test_same_version_is_served_from_cache_without_apt(tmp_path, monkeypatch):
    _cached(tmp_path, "etw-data", "1.0-1")
    monkeypatch.setattr(fetch, "candidate_version", lambda p: "1.0-1")
    monkeypatch.setattr(fetch, "_download", lambda *a: (_ for _ in ()).throw(AssertionError("downloaded")))
    assert fetch.fetch_package("etw-data", tmp_path, lambda rel: True).version == "1.0-1"
    assert fetch.verify(fetch.load_cached(tmp_path, "etw-data")[0]) == []


def _make_deb(tmp_path, md5_override=None, extra=None):
    import hashlib
    import shutil
    import subprocess

    from corpus_fakes import FIXTURE

    tree = tmp_path / "pkgtree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text("Package: fake-sounds\nVersion: 1.0-1\nArchitecture: all\n"
                                             "Maintainer: t <t@example.org>\nDescription: test\n")
    files = {"usr/share/fake/perc_bell.flac": (FIXTURE / "perc_bell.flac").read_bytes(),
             "usr/share/fake/readme.txt": b"not audio",
             "usr/share/doc/fake-sounds/copyright": b"License: CC0\n", **(extra or {})}
    lines = []
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
        lines.append(f"{md5_override or hashlib.md5(data).hexdigest()}  {rel}")
    (tree / "DEBIAN" / "md5sums").write_text("\n".join(lines) + "\n")
    deb = tmp_path / "fake-sounds_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)], check=True,
                   capture_output=True)
    shutil.rmtree(tree)
    return deb


def test_extraction_keeps_selected_members_verifies_md5_and_deletes_the_deb(tmp_path, monkeypatch):
    import shutil

    import pytest

    if not shutil.which("dpkg-deb"):
        pytest.skip("needs dpkg-deb")
    deb = _make_deb(tmp_path)
    monkeypatch.setattr(fetch, "candidate_version", lambda p: "1.0-1")

    def download(package, version, debs):
        debs.mkdir(parents=True, exist_ok=True)
        shutil.copy(deb, debs / deb.name)
        return debs / deb.name

    monkeypatch.setattr(fetch, "_download", download)
    cache = tmp_path / "cache"
    got = fetch.fetch_package("fake-sounds", cache, lambda rel: rel.endswith(".flac"))
    assert [f["path"] for f in got.files] == ["usr/share/fake/perc_bell.flac"]
    assert got.copyright == "License: CC0\n"
    from corpus_fakes import FIXTURE

    assert got.path("usr/share/fake/perc_bell.flac").read_bytes() == (FIXTURE / "perc_bell.flac").read_bytes()
    assert not got.path("usr/share/fake/readme.txt").exists()
    assert not list((cache / "debs").glob("*.deb"))
    assert fetch.verify(got) == []
    got.path("usr/share/fake/perc_bell.flac").write_bytes(b"tampered")
    assert fetch.verify(got) == ["usr/share/fake/perc_bell.flac"]


def test_a_corrupted_member_fails_the_md5_check(tmp_path, monkeypatch):
    import shutil

    import pytest

    if not shutil.which("dpkg-deb"):
        pytest.skip("needs dpkg-deb")
    deb = _make_deb(tmp_path, md5_override="0" * 32)
    monkeypatch.setattr(fetch, "candidate_version", lambda p: "1.0-1")
    monkeypatch.setattr(fetch, "_download", lambda package, version, debs: deb)
    with pytest.raises(fetch.FetchError, match="md5sums"):
        fetch.fetch_package("fake-sounds", tmp_path / "cache", lambda rel: rel.endswith(".flac"))


def _serve(monkeypatch, deb):
    import shutil

    monkeypatch.setattr(fetch, "candidate_version", lambda p: "1.0-1")

    def download(package, version, debs):
        debs.mkdir(parents=True, exist_ok=True)
        shutil.copy(deb, debs / deb.name)
        return debs / deb.name

    monkeypatch.setattr(fetch, "_download", download)


def _pak(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_audio_inside_archives_is_kept_and_a_corrupt_archive_is_skipped(tmp_path, monkeypatch, caplog):
    import shutil

    import pytest

    from corpus_fakes import FIXTURE

    if not shutil.which("dpkg-deb"):
        pytest.skip("needs dpkg-deb")
    bell = (FIXTURE / "perc_bell.flac").read_bytes()
    deb = _make_deb(tmp_path, extra={"usr/share/fake/baseoa/pak0.pk3": _pak({"sound/bell.flac": bell,
                                                                            "maps/a.bsp": b"map"}),
                                     "usr/share/fake/broken.pk3": b"PK not really a zip"})
    _serve(monkeypatch, deb)
    audio = lambda rel: rel.endswith(".flac")      # noqa: E731
    got = fetch.fetch_package("fake-sounds", tmp_path / "cache", audio, archive_select=audio, wide=True)
    assert sorted(f["path"] for f in got.files) == ["pak0.pk3/sound/bell.flac", "usr/share/fake/perc_bell.flac"]
    assert got.path("pak0.pk3/sound/bell.flac").read_bytes() == bell
    assert not got.path("usr/share/fake/baseoa/pak0.pk3").exists()        # the archive itself is not kept
    assert "broken.pk3: not a readable zip archive" in caplog.text and "its members are skipped" in caplog.text
    assert got.wide and fetch.verify(got) == []


def test_a_labelled_only_extraction_is_redone_for_the_pool_but_serves_the_older_tiers(tmp_path, monkeypatch):
    import shutil

    import pytest

    if not shutil.which("dpkg-deb"):
        pytest.skip("needs dpkg-deb")
    _serve(monkeypatch, _make_deb(tmp_path))
    cache = tmp_path / "cache"
    narrow = fetch.fetch_package("fake-sounds", cache, lambda rel: False)
    assert narrow.files == [] and not narrow.wide
    wide = fetch.fetch_package("fake-sounds", cache, lambda rel: rel.endswith(".flac"), wide=True)
    assert [f["path"] for f in wide.files] == ["usr/share/fake/perc_bell.flac"]
    monkeypatch.setattr(fetch, "_download", lambda *a: (_ for _ in ()).throw(AssertionError("downloaded")))
    assert fetch.fetch_package("fake-sounds", cache, lambda rel: False).wide      # the wide copy serves both


def test_fetch_errors_are_one_line_user_errors():
    from tqse.errors import TqseError

    assert issubclass(fetch.FetchError, TqseError)
