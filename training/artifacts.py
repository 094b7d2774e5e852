"""Training sources: read sources.txt, download artifacts with the registries' own clients, pin them, unpack them.

Ecosystems (``shared/train/sources.txt``):

- ``python-stdlib``: the running interpreter's own ``Lib/`` tree (no download); its "sha256" is a digest of the
  ``.py`` files mined (sorted relative paths and contents), its version the interpreter's.
- ``pypi``: ``pip download --no-deps --only-binary :all: NAME[==VERSION]`` (a wheel for this interpreter).
- ``npm``: ``npm pack NAME[@VERSION]`` (the registry tarball).
- ``debian``: ``apt-get download NAME[=VERSION]`` (Debian 12 "bookworm" amd64), read with ``dpkg-deb``.

``sources.lock`` holds one tab-separated row per source mined: ecosystem, name, version, artifact file name, sha256,
licence (wheel METADATA, package.json, or the ``Files: *`` stanza of debian/copyright).
"""

from __future__ import annotations

import email.parser
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger("codegraph.training")

SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".go", ".rs", ".rb")
"""File suffixes kept when unpacking (languages :func:`codegraph.docstrings.find_documented` mines here)."""

LOCK_HEADER = (
    "# codegraph training sources actually mined (training/mine.py fetch --relock rewrites this file)\n"
    "# ecosystem\tname\tversion\tartifact\tsha256\tlicense\n"
)


@dataclass(frozen=True, slots=True)
class Source:
    """One line of sources.txt."""

    ecosystem: str
    name: str


@dataclass(frozen=True, slots=True)
class Pin:
    """One row of sources.lock."""

    ecosystem: str
    name: str
    version: str
    artifact: str
    sha256: str
    license: str


class FetchError(Exception):
    """A source could not be downloaded, verified or unpacked (the message says why)."""


def read_sources(path: Path) -> tuple[list[Source], list[str]]:
    """Sources listed in sources.txt, and the dev-set package names of its header comment ("never a package of
    the dev set in ../eval (click, flask, ...)")."""
    sources: list[Source] = []
    header: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            header.append(line[1:].strip())
            continue
        if line.strip():
            ecosystem, name = line.split("\t")
            sources.append(Source(ecosystem.strip(), name.strip()))
    text = " ".join(header)
    match = re.search(r"dev set in \S+ \(([^)]*)\)", text)
    devset = [n.strip() for n in match.group(1).split(",")] if match else []
    return sources, devset


def read_lock(path: Path) -> dict[tuple[str, str], Pin]:
    """Pins by (ecosystem, name); empty when the file does not exist."""
    pins: dict[tuple[str, str], Pin] = {}
    if not path.exists():
        return pins
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pin = Pin(*line.split("\t"))
            pins[(pin.ecosystem, pin.name)] = pin
    return pins


def write_lock(path: Path, pins: list[Pin]) -> None:
    """Write sources.lock (rows in sources.txt order)."""
    rows = ["\t".join(asdict(p).values()) for p in pins]
    path.write_text(LOCK_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> str:
    log.info("+ %s", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(f"`{' '.join(cmd)}` exited {proc.returncode}: {' | '.join(tail)}")
    return proc.stdout


# ----------------------------------------------------------------------------------------------------------------
# python-stdlib
# ----------------------------------------------------------------------------------------------------------------
def stdlib_root() -> Path:
    """The running interpreter's ``Lib/`` directory (``lib/python3.X``)."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, relative POSIX path) of the stdlib's .py files, site-packages and caches left out, sorted."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("site-packages/") or "__pycache__" in rel or path.is_symlink():
            continue
        yield path, rel


def stdlib_pin(name: str) -> Pin:
    """Pin of the interpreter's Lib/ tree; ``name`` (``python3.11``) must match the running interpreter."""
    want = name.removeprefix("python")
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    if want != have:
        raise FetchError(f"sources.txt asks for {name} but this interpreter is Python {have}")
    h = hashlib.sha256()
    for path, rel in stdlib_files(stdlib_root()):
        h.update(rel.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    version = ".".join(map(str, sys.version_info[:3]))
    return Pin("python-stdlib", name, version, f"Lib-{version}", h.hexdigest(), "PSF-2.0")


# ----------------------------------------------------------------------------------------------------------------
# Downloads
# ----------------------------------------------------------------------------------------------------------------
def download(source: Source, version: str | None, dest: Path) -> Path:
    """Download one artifact into the empty folder ``dest`` with the registry's own client.

    Args:
        source: what to fetch.
        version: the pinned version, or ``None`` for the registry's current one.
        dest: empty folder to download into.

    Returns:
        The artifact file.

    Raises:
        FetchError: the client failed or produced no file.
    """
    if source.ecosystem == "pypi":
        spec = f"{source.name}=={version}" if version else source.name
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", ".", spec], dest)
    elif source.ecosystem == "npm":
        spec = f"{source.name}@{version}" if version else source.name
        _run(["npm", "pack", "--silent", spec], dest)
    elif source.ecosystem == "debian":
        spec = f"{source.name}={version}" if version else source.name
        cmd = ["apt-get", "-o", "APT::Sandbox::User=root", "download", spec] if os.geteuid() == 0 else []
        cmd = cmd or ["apt-get", "download", spec]
        try:
            _run(cmd, dest)
        except FetchError:
            if os.geteuid() != 0:
                raise
            _run(["apt-get", "update"], dest)  # stale package lists: the mirror moved on
            _run(cmd, dest)
    else:
        raise FetchError(f"unknown ecosystem {source.ecosystem!r}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise FetchError(f"expected one downloaded file in {dest}, found {len(files)}")
    return files[0]


def _wheel_metadata(artifact: Path) -> tuple[str, str]:
    with zipfile.ZipFile(artifact) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        meta = email.parser.HeaderParser().parsestr(z.read(name).decode("utf-8", "replace"))
    licence = meta.get("License-Expression") or ""
    if not licence:
        classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License")]
        short = (meta.get("License") or "").strip()
        licence = short if short and "\n" not in short and len(short) < 60 else " / ".join(classifiers) or short[:60]
    return str(meta.get("Version")), licence.strip() or "UNKNOWN"


def _npm_metadata(artifact: Path) -> tuple[str, str]:
    with tarfile.open(artifact) as t:
        member = t.extractfile("package/package.json")
        if member is None:
            raise FetchError(f"{artifact.name} has no package/package.json")
        pkg = json.loads(member.read())
    licence = pkg.get("license") or pkg.get("licenses") or "UNKNOWN"
    if isinstance(licence, dict):
        licence = licence.get("type", "UNKNOWN")
    if isinstance(licence, list):
        licence = " OR ".join(x.get("type", "?") if isinstance(x, dict) else str(x) for x in licence)
    return str(pkg["version"]), str(licence)


def _deb_members(artifact: Path) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(artifact)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as t:
            for member in t:
                yield member, t
    finally:
        proc.stdout.close()
        proc.wait()


def _deb_metadata(artifact: Path, name: str) -> tuple[str, str]:
    version = subprocess.run(
        ["dpkg-deb", "-f", str(artifact), "Version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    copyright_text = ""
    for member, t in _deb_members(artifact):
        if member.isfile() and member.name.endswith(f"/usr/share/doc/{name}/copyright"):
            f = t.extractfile(member)
            copyright_text = f.read().decode("utf-8", "replace") if f else ""
    licence = ""
    for stanza in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:\s*(.*)$", stanza, re.M)
        found = re.search(r"^License:\s*(.+)$", stanza, re.M)
        if found and files and files.group(1).strip() == "*":
            licence = found.group(1).strip()
            break
        if found and not licence and not stanza.startswith("License:"):
            licence = found.group(1).strip()
    return version, licence or "see /usr/share/doc/copyright"


def artifact_metadata(source: Source, artifact: Path) -> tuple[str, str]:
    """(version, licence) read from the artifact itself."""
    if source.ecosystem == "pypi":
        return _wheel_metadata(artifact)
    if source.ecosystem == "npm":
        return _npm_metadata(artifact)
    return _deb_metadata(artifact, source.name)


# ----------------------------------------------------------------------------------------------------------------
# Unpacking: only source files, under their path inside the artifact
# ----------------------------------------------------------------------------------------------------------------
def _wanted(name: str) -> bool:
    return name.endswith(SOURCE_SUFFIXES) and not name.endswith((".d.ts", ".d.mts", ".d.cts"))


def _safe_rel(name: str) -> str | None:
    rel = PurePosixPath(re.sub(r"^(\./)+", "", name))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return rel.as_posix()


def unpack(source: Source, artifact: Path, dest: Path) -> int:
    """Extract the artifact's source files (regular files only, no links) into ``dest`` (replaced).

    Returns:
        Number of files written.
    """
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    count = 0

    def put(rel: str | None, data: bytes) -> None:
        nonlocal count
        if rel is None:
            return
        out = tmp / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        count += 1

    try:
        if source.ecosystem == "pypi":
            with zipfile.ZipFile(artifact) as z:
                for info in z.infolist():
                    if not info.is_dir() and _wanted(info.filename) and ".dist-info/" not in info.filename:
                        put(_safe_rel(info.filename), z.read(info))
        elif source.ecosystem == "npm":
            with tarfile.open(artifact) as t:
                for member in t:
                    f = t.extractfile(member) if member.isfile() and _wanted(member.name) else None
                    if f is not None:
                        put(_safe_rel(member.name), f.read())
        else:
            for member, t in _deb_members(artifact):
                if member.isfile() and _wanted(member.name) and "/usr/share/doc/" not in member.name:
                    f = t.extractfile(member)
                    if f is not None:
                        put(_safe_rel(member.name), f.read())
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return count


def fetch_one(source: Source, pin: Pin | None, cache: Path, *, relock: bool) -> Pin:
    """Make ``cache/src/<ecosystem>/<name>`` hold the pinned (or, with ``relock``, the current) source files.

    A cached artifact that matches the pin is reused. Without ``relock`` the artifact's name and sha256 must equal
    the pin's.

    Returns:
        The pin of what was fetched.

    Raises:
        FetchError: download failed, or the artifact does not match the pin.
    """
    if source.ecosystem == "python-stdlib":
        got = stdlib_pin(source.name)
        if pin is not None and not relock and (pin.version, pin.sha256) != (got.version, got.sha256):
            raise FetchError(
                f"Lib/ tree of Python {got.version} (digest {got.sha256[:12]}) does not match the lock "
                f"(Python {pin.version}, {pin.sha256[:12]}); mine with that interpreter or --relock"
            )
        return got
    dl = cache / "dl" / source.ecosystem / source.name
    src = cache / "src" / source.ecosystem / source.name
    version = None if relock or pin is None else pin.version
    cached = sorted(p for p in dl.glob("*") if p.is_file()) if dl.is_dir() else []
    artifact = cached[0] if len(cached) == 1 else None
    if artifact is not None and pin is not None and not relock:
        if artifact.name != pin.artifact or sha256_file(artifact) != pin.sha256:
            artifact = None
    if artifact is None or relock:
        shutil.rmtree(dl, ignore_errors=True)
        dl.mkdir(parents=True)
        artifact = download(source, version, dl)
    digest = sha256_file(artifact)
    if pin is not None and not relock and (artifact.name, digest) != (pin.artifact, pin.sha256):
        raise FetchError(f"{artifact.name} sha256 {digest} does not match the lock ({pin.artifact} {pin.sha256})")
    got_version, licence = artifact_metadata(source, artifact)
    marker = src / ".artifact"
    if not (marker.exists() and marker.read_text() == digest):
        src.parent.mkdir(parents=True, exist_ok=True)
        n = unpack(source, artifact, src)
        marker.write_text(digest)
        log.info("%s/%s: %s -> %d source files", source.ecosystem, source.name, artifact.name, n)
    return Pin(source.ecosystem, source.name, got_version, artifact.name, digest, licence)


def read_text_file(path: Path, *, max_bytes: int) -> str | None:
    """The file's UTF-8 text, or ``None`` when it is larger than ``max_bytes``, binary or not UTF-8."""
    if path.stat().st_size > max_bytes:
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def json_dump(obj: object) -> str:
    """Stable, readable JSON for committed files."""
    buf = io.StringIO()
    json.dump(obj, buf, indent=1, sort_keys=False, ensure_ascii=False)
    return buf.getvalue() + "\n"
