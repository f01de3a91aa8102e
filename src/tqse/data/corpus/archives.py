"""Read audio packed inside game archives: zip-format files (0ad's ``public.zip``, warzone2100's ``.wz``,
openarena's ``.pk3``, trigger-rally's ``data.zip``) and Qt resource bundles (gcompris' ``.rcc``).

Both readers yield ``(member path, binary stream)`` for the members a selector keeps, so the fetcher can
write and hash them like any file of a package. The Qt reader follows the documented ``rcc`` binary layout
(Qt's ``rcc`` tool, format versions 1-3): a ``qres`` header giving the offsets of a tree of nodes, a name
table and a data block; a file node points at its bytes, which may be zlib-compressed (``qCompress``:
a 4-byte big-endian length, then the zlib stream). zstd-compressed members (flag 4) are skipped with a
warning: Debian's bundles store audio uncompressed (it does not compress), and reading zstd would need a
dependency for nothing.
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

log = logging.getLogger(__name__)

ZIP_SUFFIXES = (".zip", ".wz", ".pk3")
RCC_SUFFIX = ".rcc"
_COMPRESSED, _DIRECTORY, _COMPRESSED_ZSTD = 0x1, 0x2, 0x4


class ArchiveError(ValueError):
    """An archive that cannot be read (the message names the file and the problem)."""


def is_archive(path: str) -> bool:
    return path.lower().endswith((*ZIP_SUFFIXES, RCC_SUFFIX))


def iter_members(archive: Path, select: Callable[[str], bool]) -> Iterator[tuple[str, BinaryIO]]:
    """``(archive-name/member, stream)`` of every selected member of a zip-format or ``.rcc`` archive.

    Member paths are prefixed with the archive's file name (``base.wz/audio/sfx/boom.ogg``), so taxonomy
    rules and credits see where a file came from.
    """
    if archive.name.lower().endswith(RCC_SUFFIX):
        yield from _rcc_members(archive, select)
        return
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = f"{archive.name}/{info.filename}"
                if not info.is_dir() and select(rel):
                    with zf.open(info) as data:
                        yield rel, data
    except zipfile.BadZipFile as err:
        raise ArchiveError(f"{archive}: not a readable zip archive ({err})") from None


class _Rcc:
    """Offsets and accessors of one Qt resource bundle held in memory."""

    def __init__(self, blob: bytes, where: Path):
        if blob[:4] != b"qres" or len(blob) < 20:
            raise ArchiveError(f"{where}: not a Qt resource bundle (no 'qres' header)")
        self.blob, self.where = blob, where
        self.version, self.tree, self.data, self.names = struct.unpack(">IIII", blob[4:20])
        if self.version not in (1, 2, 3):
            raise ArchiveError(f"{where}: Qt resource format version {self.version} is not supported (1-3)")
        self.node_size = 14 if self.version == 1 else 22

    def _u16(self, at: int) -> int:
        return struct.unpack(">H", self.blob[at:at + 2])[0]

    def _u32(self, at: int) -> int:
        return struct.unpack(">I", self.blob[at:at + 4])[0]

    def name(self, node: int) -> str:
        at = self.names + self._u32(self.tree + node * self.node_size)
        length = self._u16(at)
        return self.blob[at + 6: at + 6 + 2 * length].decode("utf-16-be")

    def walk(self, node: int = 0, prefix: str = "") -> Iterator[tuple[str, int]]:
        """(path, node) of every file under ``node`` (depth first)."""
        base = self.tree + node * self.node_size
        flags = self._u16(base + 4)
        if flags & _DIRECTORY:
            count, first = self._u32(base + 6), self._u32(base + 10)
            for child in range(first, first + count):
                yield from self.walk(child, f"{prefix}{self.name(child)}/")
        else:
            yield prefix.rstrip("/"), node

    def content(self, node: int) -> bytes | None:
        base = self.tree + node * self.node_size
        flags = self._u16(base + 4)
        at = self.data + self._u32(base + 10)
        size = self._u32(at)
        raw = self.blob[at + 4: at + 4 + size]
        if flags & _COMPRESSED_ZSTD:
            return None
        if flags & _COMPRESSED:
            return zlib.decompress(raw[4:])
        return raw


def _rcc_members(archive: Path, select: Callable[[str], bool]) -> Iterator[tuple[str, BinaryIO]]:
    try:
        rcc = _Rcc(archive.read_bytes(), archive)
        files = list(rcc.walk())
    except (struct.error, IndexError, UnicodeDecodeError) as err:
        raise ArchiveError(f"{archive}: damaged Qt resource bundle ({err})") from None
    for path, node in files:
        rel = f"{archive.name}/{path}"
        if not select(rel):
            continue
        try:
            data = rcc.content(node)
        except (struct.error, zlib.error) as err:
            log.warning("%s: member %s cannot be read (%s); skipped", archive, path, err)
            continue
        if data is None:
            log.warning("%s: member %s is zstd-compressed; skipped", archive, path)
            continue
        yield rel, io.BytesIO(data)
