"""Fetch a Debian package with ``apt-get download`` and extract only the files we need with ``dpkg-deb``.

Nothing is installed and no dependency is pulled. Each package version is extracted once into
``CACHE/pkgs/<package>_<version>/`` whose ``index.json`` (written last, so its presence marks a complete
extraction) lists every kept file with its sha256. Extracted files are checked against the package's own
``md5sums``; the ``.deb`` is deleted afterwards. When apt offers a different version than the cached one,
the new one is fetched; when apt offers none (offline, package gone) the cached version is used with a
warning, and with no cached version the package is skipped with a warning.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqse.data.corpus.archives import ArchiveError, is_archive, iter_members
from tqse.data.manifest import write_json
from tqse.errors import TqseError
from tqse.files import file_sha256

log = logging.getLogger(__name__)

Select = Callable[[str], bool]


class FetchError(TqseError):
    """A package could not be downloaded or extracted (the message names the package and the step)."""


@dataclass
class PackageFiles:
    """One extracted package version: where its files are and what they are."""

    package: str
    version: str
    root: Path
    files: list[dict] = field(default_factory=list)     # {"path", "sha256", "size"}
    copyright: str = ""
    wide: bool = False      # every audio file kept (the pool tier), not only the labelled ones

    def path(self, rel: str) -> Path:
        return self.root / "files" / rel


def _safe(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+~-]", "_", version)


_CANDIDATES: dict[str, str | None] = {}


def candidate_versions(packages: list[str]) -> dict[str, str | None]:
    """Versions ``apt-get download`` would fetch (``None``: apt does not know the package); one apt call."""
    todo = [p for p in packages if p not in _CANDIDATES]
    if todo:
        try:
            out = subprocess.run(["apt-cache", "policy", *todo], capture_output=True, text=True,
                                 timeout=120).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        found = dict(re.findall(r"^(\S+):\n\s+Installed:[^\n]*\n\s+Candidate:\s*(\S+)", out, re.M))
        for p in todo:
            version = found.get(p)
            _CANDIDATES[p] = version if version and version != "(none)" else None
    return {p: _CANDIDATES[p] for p in packages}


def candidate_version(package: str) -> str | None:
    """The version ``apt-get download`` would fetch, or ``None`` if apt does not know the package."""
    return candidate_versions([package])[package]


def prefetch(packages: list[str], cache: str | os.PathLike) -> None:
    """Download, in one ``apt-get download`` call, the .debs of packages whose version is not cached yet.

    Only an optimisation (one apt start instead of one per package); :func:`fetch_package` does the rest.
    """
    cache = Path(cache)
    versions = candidate_versions(packages)
    if not any(versions.values()):
        _apt_update_once()
        _CANDIDATES.clear()
        versions = candidate_versions(packages)
    missing = [f"{p}={v}" for p, v in versions.items()
               if v and not any(e.version == v for e in load_cached(cache, p))
               and not list((cache / "debs").glob(f"{p}_*.deb"))]
    if missing:
        (cache / "debs").mkdir(parents=True, exist_ok=True)
        log.info("apt-get download: %d packages", len(missing))
        subprocess.run(["apt-get", "download", *missing], cwd=cache / "debs", capture_output=True, timeout=7200)


_UPDATED = False


def _apt_update_once() -> None:
    global _UPDATED
    if not _UPDATED and os.geteuid() == 0:
        log.info("apt-get update (once)")
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
    _UPDATED = True


def _download(package: str, version: str, debs: Path) -> Path:
    debs.mkdir(parents=True, exist_ok=True)
    for existing in debs.glob(f"{package}_*.deb"):
        if _deb_version(existing) == version:
            return existing
    proc = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=debs, capture_output=True,
                          text=True, timeout=3600)
    found = [p for p in debs.glob(f"{package}_*.deb") if _deb_version(p) == version]
    if proc.returncode != 0 or not found:
        raise FetchError(f"{package}={version}: apt-get download failed: {proc.stderr.strip()[-300:]}")
    return found[0]


def _deb_version(deb: Path) -> str | None:
    proc = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True)
    return proc.stdout.strip() or None


def _md5sums(deb: Path) -> dict[str, str]:
    proc = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        for member in tar:
            if member.name.lstrip("./") == "md5sums":
                text = tar.extractfile(member).read().decode()
                return {line[34:].strip(): line[:32] for line in text.splitlines() if len(line) > 34}
    return {}


def _write_member(data: io.BufferedReader, target: Path) -> tuple[str, str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    with target.open("wb") as out:
        while chunk := data.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), size


def _extract(deb: Path, package: str, select: Select, archive_select: Select | None, dest: Path) -> list[dict]:
    """Stream the data archive of ``deb`` and keep the selected members; verify them against md5sums.

    With ``archive_select``, archives inside the package (zip-format and Qt ``.rcc``, see
    :mod:`tqse.data.corpus.archives`) are opened and their selected members kept; the archive is deleted.
    """
    sums = _md5sums(deb)
    files = []
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            rel = member.name.lstrip("./")
            if member.issym() and select(rel):       # shared-library version links (libfoo.so.1 -> ...)
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                (dest / rel).unlink(missing_ok=True)
                os.symlink(member.linkname, dest / rel)
                continue
            opens = archive_select is not None and is_archive(rel) and not rel.startswith("usr/share/doc/")
            keep = member.isfile() and (select(rel) or opens or rel == f"usr/share/doc/{package}/copyright")
            if not keep:
                continue
            sha, md5, size = _write_member(tar.extractfile(member), dest / rel)
            os.chmod(dest / rel, (member.mode & 0o777) | 0o600)     # keep binaries executable
            if rel in sums and sums[rel] != md5:
                raise FetchError(f"{package}: {rel} does not match the package's md5sums")
            if opens:
                files += _extract_archive(dest / rel, archive_select, dest, package)
                (dest / rel).unlink()
            elif not rel.startswith("usr/share/doc/"):
                files.append({"path": rel, "sha256": sha, "size": size})
    if proc.wait() != 0:
        raise FetchError(f"{package}: dpkg-deb --fsys-tarfile failed on {deb}")
    return files


def _extract_archive(archive: Path, select: Select, dest: Path, package: str) -> list[dict]:
    """Selected members of an archive inside a package (0ad's ``public.zip``, warzone2100's ``base.wz``...),
    written as ``<archive name>/<member>``; an unreadable archive is skipped with a warning."""
    files = []
    try:
        for rel, data in iter_members(archive, select):
            sha, _, size = _write_member(data, dest / rel)
            files.append({"path": rel, "sha256": sha, "size": size})
    except ArchiveError as err:
        log.warning("%s: %s; its members are skipped", package, err)
    return files


def load_cached(cache: Path, package: str) -> list[PackageFiles]:
    """All complete cached extractions of ``package`` (any version)."""
    out = []
    for index in sorted((cache / "pkgs").glob(f"{package}_*/index.json")):
        meta = json.loads(index.read_text())
        if meta.get("package") == package:
            out.append(PackageFiles(package, meta["version"], index.parent, meta["files"], meta.get("copyright", ""),
                                    meta.get("wide", False)))
    return out


def _fall_back(problem: str, cached: list[PackageFiles]) -> PackageFiles | None:
    """The newest cached version of a package apt cannot give us now (with a warning), else None (skipped)."""
    if cached:
        log.warning("%s; using cached version %s", problem, cached[-1].version)
        return cached[-1]
    log.warning("%s and not cached; skipped", problem)
    return None


def fetch_package(package: str, cache: str | os.PathLike, select: Select, *,
                  archive_select: Select | None = None, wide: bool = False) -> PackageFiles | None:
    """Make sure the selected files of the apt candidate version of ``package`` are extracted in ``cache``.

    Args:
        package: Debian binary package name.
        cache: cache root (``pkgs/`` and ``debs/`` live under it).
        select: keeps a member given its path inside the package (``usr/share/...``).
        archive_select: when given, archives in the package are opened and their members selected with it.
        wide: ``select`` keeps every audio file (the pool tier). A cached extraction made for a labelled-only
            tier does not hold them, so it is extracted again; a wide extraction serves every tier.
    Returns:
        The extracted files, or ``None`` (with a warning) when the package is unavailable and not cached.
    """
    cache = Path(cache)
    cached = [e for e in load_cached(cache, package) if e.wide or not wide]
    version = candidate_version(package)
    if version is None and not _UPDATED:
        _apt_update_once()
        _CANDIDATES.pop(package, None)
        version = candidate_version(package)
    if version is None:
        return _fall_back(f"{package}: not available from apt", cached)
    for entry in cached:
        if entry.version == version:
            return entry
    if cached:
        log.warning("%s: cached version %s differs from apt's %s; fetching the new one",
                    package, cached[-1].version, version)
    root = cache / "pkgs" / f"{package}_{_safe(version)}"
    shutil.rmtree(root, ignore_errors=True)     # a killed extraction leaves no index.json: start over
    try:
        deb = _download(package, version, cache / "debs")
    except FetchError as err:
        return _fall_back(str(err), cached)
    files = _extract(deb, package, select, archive_select, root / "files")
    copyright_file = root / "files" / f"usr/share/doc/{package}/copyright"
    text = copyright_file.read_text(errors="replace") if copyright_file.exists() else ""
    meta = {"package": package, "version": version, "files": files, "copyright": text, "wide": wide}
    write_json(root / "index.json", meta, indent=None)
    deb.unlink()
    log.info("%s %s: kept %d files", package, version, len(files))
    return PackageFiles(package, version, root, files, text, wide)


def verify(entry: PackageFiles) -> list[str]:
    """Paths whose content no longer matches the recorded sha256 (empty when the cache is intact)."""
    bad = []
    for item in entry.files:
        path = entry.path(item["path"])
        if not path.exists() or file_sha256(path) != item["sha256"]:
            bad.append(item["path"])
    return bad
