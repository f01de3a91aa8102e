"""Audio inside game archives: zip-format files (.zip/.wz/.pk3) and Qt resource bundles (.rcc)."""

import io
import struct
import zipfile
import zlib

import pytest
import soundfile as sf

from tqse.data.corpus.archives import ArchiveError, is_archive, iter_members

from corpus_fakes import FIXTURE


def _rcc(files: dict[str, tuple[bytes, bool]], version: int = 2) -> bytes:
    """A Qt resource bundle in the documented binary layout: root -> "sounds/" -> the files.

    ``files``: name -> (content, zlib-compressed?).
    """
    names, data = b"", b""
    name_offsets = {}
    for name in ["sounds", *files]:
        name_offsets[name] = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
    nodes = []
    node_size = 14 if version == 1 else 22
    stamp = b"" if version == 1 else struct.pack(">Q", 0)
    nodes.append(struct.pack(">IHII", 0, 0x2, 1, 1) + stamp)                  # root: 1 child at node 1
    nodes.append(struct.pack(">IHII", name_offsets["sounds"], 0x2, len(files), 2) + stamp)
    for name, (content, compressed) in files.items():
        blob = struct.pack(">I", len(content)) + zlib.compress(content) if compressed else content
        nodes.append(struct.pack(">IHHHI", name_offsets[name], 0x1 if compressed else 0, 0, 0, len(data)) + stamp)
        data += struct.pack(">I", len(blob)) + blob
    assert all(len(n) == node_size for n in nodes)
    header = 20
    data_off, names_off = header, header + len(data)
    tree_off = names_off + len(names)
    return b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off) + data + names + b"".join(nodes)


@pytest.mark.parametrize("version", [1, 2])
def test_qt_resource_bundle_members_are_read_plain_and_compressed(tmp_path, version):
    bell = (FIXTURE / "perc_bell.flac").read_bytes()
    bundle = tmp_path / "game.rcc"
    bundle.write_bytes(_rcc({"bell.flac": (bell, False), "bell2.flac": (bell, True), "notes.txt": (b"x", False)},
                            version))
    got = {name: data.read() for name, data in iter_members(bundle, lambda rel: rel.endswith(".flac"))}
    assert set(got) == {"game.rcc/sounds/bell.flac", "game.rcc/sounds/bell2.flac"}
    assert got["game.rcc/sounds/bell.flac"] == bell and got["game.rcc/sounds/bell2.flac"] == bell
    wav, sr = sf.read(io.BytesIO(got["game.rcc/sounds/bell2.flac"]))
    assert sr == 32000 and len(wav) > 1000


def test_a_damaged_bundle_is_one_clear_error(tmp_path):
    bad = tmp_path / "broken.rcc"
    bad.write_bytes(b"not a bundle at all")
    with pytest.raises(ArchiveError, match="broken.rcc: not a Qt resource bundle"):
        list(iter_members(bad, lambda rel: True))
    truncated = tmp_path / "cut.rcc"
    truncated.write_bytes(_rcc({"a.flac": (b"abc", False)})[:30])
    with pytest.raises(ArchiveError, match="cut.rcc: damaged Qt resource bundle"):
        list(iter_members(truncated, lambda rel: True))


def test_zip_format_archives_of_any_suffix(tmp_path):
    bell = (FIXTURE / "perc_bell.flac").read_bytes()
    for suffix in (".zip", ".wz", ".pk3"):
        archive = tmp_path / f"pak0{suffix}"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("sound/world/bell.flac", bell)
            zf.writestr("maps/level.bsp", b"map")
        assert is_archive(str(archive))
        got = [(name, data.read()) for name, data in iter_members(archive, lambda rel: rel.endswith(".flac"))]
        assert got == [(f"pak0{suffix}/sound/world/bell.flac", bell)]
    (tmp_path / "bad.pk3").write_bytes(b"PK garbage")
    with pytest.raises(ArchiveError, match="bad.pk3: not a readable zip archive"):
        list(iter_members(tmp_path / "bad.pk3", lambda rel: True))
