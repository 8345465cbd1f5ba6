"""Walk a repository tree and decide which files to index, and why the others are skipped.

Honours .gitignore, .git/info/exclude and .codesiftignore at every level. As in git, an
ignore pattern does not hide a file git tracks (ujson tracks its C core under `lib/`
while its .gitignore, the common Python template, ignores `lib/`): when a .gitignore rule
would skip something, `git ls-files` is asked once which files are tracked. Without git,
or outside a repository, the patterns alone decide.
"""

from __future__ import annotations

import codecs
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pathspec

from codesift.errors import PathError
from codesift.ingest.languages import language_for_path
from codesift.model import SkippedFile, SourceFile


@dataclass(frozen=True, slots=True)
class Discovery:
    files: tuple[SourceFile, ...]  # sorted by path
    skipped: tuple[SkippedFile, ...]  # sorted by path; directories end with "/"


# Directory names skipped wherever they appear, with the reason shown to the user.
ALWAYS_SKIP_DIRS = {
    ".git": "version control (.git)",
    ".hg": "version control (.hg)",
    ".svn": "version control (.svn)",
    ".codesift": "codesift index",
    "node_modules": "vendored (node_modules)",
    "bower_components": "vendored (bower_components)",
    "vendor": "vendored (vendor)",
    "site-packages": "vendored (site-packages)",
    ".venv": "virtualenv (.venv)",
    "__pycache__": "cache (__pycache__)",
    ".tox": "cache (.tox)",
    ".nox": "cache (.nox)",
    ".mypy_cache": "cache (.mypy_cache)",
    ".pytest_cache": "cache (.pytest_cache)",
    ".ruff_cache": "cache (.ruff_cache)",
    ".next": "build output (.next)",
    ".nuxt": "build output (.nuxt)",
}
# Generic names that are usually generated but are sometimes a real package (pypa/build
# ships `src/build/`, coverage.py `coverage/`, the stdlib `venv/`): skipped unless importable.
_BUILD_DIR_NAMES = {"dist": "build output", "build": "build output", "coverage": "build output",
                    "venv": "virtualenv"}
_BUILD_MANIFESTS = ("Cargo.toml", "pom.xml", "build.gradle", "build.gradle.kts", "build.sbt")

_LOCK_FILES = frozenset(
    "package-lock.json yarn.lock pnpm-lock.yaml poetry.lock Cargo.lock Gemfile.lock "
    "composer.lock uv.lock go.sum Pipfile.lock npm-shrinkwrap.json bun.lockb".split()
)
_MINIFIED_SUFFIXES = (".min.js", ".min.css", ".bundle.js", ".min.mjs")
_MINIFIABLE_EXTS = frozenset({".js", ".mjs", ".cjs", ".css"})
_BINARY_EXTS = frozenset(
    """
    png jpg jpeg gif bmp ico icns tif tiff webp avif heic psd svgz eps
    zip tar gz tgz bz2 xz zst 7z rar lz4 lzma z
    pyc pyo pyd so dll dylib exe o a lib obj bin class jar war ear whl egg dex apk ipa msi deb rpm dmg iso
    pdf doc docx xls xlsx ppt pptx odt ods odp epub
    ttf otf woff woff2 eot
    sqlite sqlite3 db mdb parquet feather arrow avro orc h5 hdf5 npy npz pkl pickle joblib
    pt pth ckpt safetensors onnx gguf ggml tflite pb mlmodel
    mp3 mp4 m4a wav flac ogg oga opus avi mov mkv webm wmv
    wasm swf fla blend fbx glb
    """.split()
)
# Markers tools write into generated sources; only trusted on comment/docstring lines
# so that code which merely mentions them (like this module) is still indexed.
_GENERATED_MARKERS = (b"@generated", b"DO NOT EDIT")
_COMMENT_STARTS = (b"#", b"//", b"/*", b"*", b"--", b"<!--", b";", b'"""', b"'''", b"%", b"{{/*")
_HEAD_BYTES = 8192


@dataclass(frozen=True, slots=True)
class _Rules:
    """One ignore file's patterns, anchored at the directory that holds it."""

    base: str  # repo-relative directory with trailing "/", "" for the root
    spec: pathspec.GitIgnoreSpec
    reason: str


GITIGNORED = "gitignored"
Known = Mapping[str, tuple[int, int, str]]  # path -> (size, mtime_ns, language) as indexed


def discover(
    root: str | Path, *, max_file_bytes: int = 1_000_000, extra_ignores: tuple[str, ...] = (),
    known: Known | None = None,
) -> Discovery:
    """Find the files worth indexing under `root`, sorted by repo-relative path.

    `known`: files an index already holds. One whose size and mtime are unchanged keeps its
    language without its first bytes being read again: the indexer trusts size and mtime
    for re-reading as well, and a re-index of the stdlib read the first bytes of every
    file it walked (2,450 paths) for one changed file: a disk read each once the page
    cache has dropped them."""
    root_abs = _check_root(root)
    root_real = os.path.realpath(root_abs)
    rules: list[_Rules] = []
    exclude = os.path.join(root_abs, ".git", "info", "exclude")
    if os.path.isfile(exclude):
        rules += _load_rules(exclude, "", GITIGNORED)
    if extra_ignores:
        # Appended last so that no .gitignore negation can re-include what the caller excluded.
        extra = _Rules("", pathspec.GitIgnoreSpec.from_lines(extra_ignores), "ignored by pattern")
    else:
        extra = None
    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    walker = _Walker(root_abs, root_real, max_file_bytes, extra, files, skipped, known or {})
    walker.walk_dir(root_abs, "", tuple(rules))
    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: s.path)
    return Discovery(tuple(files), tuple(skipped))


class _Tracked:
    """The files git tracks under a root (and their directories), asked for at most once,
    and only when an ignore rule would skip something."""

    def __init__(self, root: str, paths: tuple[str, ...] = ()) -> None:
        self.root, self.paths = root, paths
        self._files: frozenset[str] | None = None
        self._dirs: frozenset[str] = frozenset()

    def holds(self, rel: str, is_dir: bool) -> bool:
        if self._files is None:
            self._files = _git_ls_files(self.root, self.paths)
            self._dirs = _parent_dirs(self._files)
        return (rel + "/" in self._dirs) if is_dir else rel in self._files


def _parent_dirs(files: frozenset[str]) -> frozenset[str]:
    """Every directory ("a/", "a/b/") that holds one of `files`; a walk up stops at the
    first directory already seen (0.03 s for 100k paths, a third of splitting each whole)."""
    dirs: set[str] = set()
    for path in files:
        parent = path.rpartition("/")[0]
        while parent and parent + "/" not in dirs:
            dirs.add(parent + "/")
            parent = parent.rpartition("/")[0]
    return frozenset(dirs)


def _git_ls_files(root: str, paths: tuple[str, ...] = ()) -> frozenset[str]:
    """Tracked paths relative to `root` (empty when git is missing or root is no repository)."""
    git = shutil.which("git")
    if git is None or not _inside_git(root):
        return frozenset()
    try:
        out = subprocess.run([git, "--literal-pathspecs", "-C", root, "ls-files", "-z", "--", *paths],
                             capture_output=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p)


def _inside_git(path: str) -> bool:
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def _check_root(root: str | Path) -> str:
    path = os.path.abspath(os.path.expanduser(str(root)))
    if not os.path.exists(path):
        raise PathError(f"path does not exist: {root}", hint="check the spelling, or pass the repository's top directory")
    if not os.path.isdir(path):
        raise PathError(f"not a directory: {root}", hint="pass the repository's top directory, not a file")
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        raise PathError(f"cannot read directory {root}: {exc.strerror}", hint="check its permissions") from exc
    return path


def _load_rules(path: str, base: str, reason: str) -> list[_Rules]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []  # an unreadable ignore file should not stop indexing
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return [_Rules(base, spec, reason)] if spec.patterns else []


def _ignored_by(rules: tuple[_Rules, ...], rel: str, is_dir: bool) -> str | None:
    """Gitignore precedence: the deepest ignore file with a matching pattern decides."""
    verdict: str | None = None
    for rule in rules:
        if not rel.startswith(rule.base):
            continue
        sub = rel[len(rule.base):] + ("/" if is_dir else "")
        include = rule.spec.check_file(sub).include
        if include is not None:
            verdict = rule.reason if include else None
    return verdict


def _unless_tracked(reason: str | None, tracked: _Tracked, rel: str, is_dir: bool) -> str | None:
    """A .gitignore verdict stands only for what git does not track (.codesiftignore and
    the caller's patterns are the user's own say, and stand)."""
    if reason == GITIGNORED and tracked.holds(rel, is_dir):
        return None
    return reason


def _dir_skip_reason(path: str, name: str, parent: str) -> str | None:
    """Why a whole directory is vendored, generated or a cache; None to descend into it."""
    if name in ALWAYS_SKIP_DIRS:
        return ALWAYS_SKIP_DIRS[name]
    if name.endswith(".egg-info"):
        return "build output (egg-info)"
    if os.path.exists(os.path.join(path, "pyvenv.cfg")):
        return f"virtualenv ({name})"
    if os.path.exists(os.path.join(path, "CACHEDIR.TAG")):
        return f"cache ({name})"
    if name in _BUILD_DIR_NAMES and not os.path.exists(os.path.join(path, "__init__.py")):
        return f"{_BUILD_DIR_NAMES[name]} ({name})"
    if name == "target" and any(os.path.exists(os.path.join(parent, m)) for m in _BUILD_MANIFESTS):
        return "build output (target)"
    return None


class _Walker:
    """Depth-first walk that prunes skipped directories before descending into them."""

    __slots__ = ("root_abs", "root_real", "max_bytes", "extra", "files", "skipped", "known",
                 "tracked")

    def __init__(self, root_abs: str, root_real: str, max_bytes: int, extra: _Rules | None,
                 files: list[SourceFile], skipped: list[SkippedFile], known: Known) -> None:
        self.root_abs, self.root_real, self.max_bytes = root_abs, root_real, max_bytes
        self.extra = (extra,) if extra else ()
        self.files, self.skipped, self.known = files, skipped, known
        self.tracked = _Tracked(root_abs)

    def skip(self, rel: str, reason: str) -> None:
        self.skipped.append(SkippedFile(rel, reason))

    def _ignored(self, rules: tuple[_Rules, ...], rel: str, is_dir: bool) -> str | None:
        return _unless_tracked(_ignored_by(rules + self.extra, rel, is_dir), self.tracked,
                               rel, is_dir)

    def walk_dir(self, path: str, rel_dir: str, rules: tuple[_Rules, ...]) -> None:
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.skip(rel_dir or "./", f"unreadable: {exc.strerror}")
            return
        names = {e.name for e in entries}
        local = [(".gitignore", GITIGNORED), (".codesiftignore", "codesiftignored")]
        for fname, reason in local:
            if fname in names:
                rules = rules + tuple(_load_rules(os.path.join(path, fname), rel_dir, reason))
        for entry in entries:
            rel = rel_dir + entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError as exc:
                self.skip(rel, f"unreadable: {exc.strerror}")
                continue
            if is_link:
                self._symlink(entry, rel, rules)
            elif is_dir:
                self._dir(entry, rel, path, rules)
            elif entry.is_file(follow_symlinks=False):
                reason = self._ignored(rules, rel, is_dir=False)
                if reason:
                    self.skip(rel, reason)
                else:
                    self._file(entry.path, rel)
            # sockets, fifos and devices are not source code: silently passed over

    def _dir(self, entry: os.DirEntry, rel: str, parent: str, rules: tuple[_Rules, ...]) -> None:
        reason = _dir_skip_reason(entry.path, entry.name, parent) or self._ignored(rules, rel, is_dir=True)
        if reason:
            self.skip(rel + "/", reason)
        else:
            self.walk_dir(entry.path, rel + "/", rules)

    def _symlink(self, entry: os.DirEntry, rel: str, rules: tuple[_Rules, ...]) -> None:
        is_dir = os.path.isdir(entry.path)
        reason = self._ignored(rules, rel, is_dir=is_dir)
        if reason:
            self.skip(rel + ("/" if is_dir else ""), reason)
            return
        target = os.path.realpath(entry.path)
        if not os.path.exists(target):
            self.skip(rel, "broken symlink")
        elif os.path.commonpath([target, self.root_real]) != self.root_real:
            self.skip(rel + ("/" if is_dir else ""), "symlink outside repository")
        else:
            # The target is indexed under its own path; following links would duplicate
            # hits and, for directories, could loop.
            dest = os.path.relpath(target, self.root_real).replace(os.sep, "/")
            self.skip(rel + ("/" if is_dir else ""), f"symlink (duplicate of {dest})")

    def _file(self, abspath: str, rel: str) -> None:
        result = classify_file(abspath, rel, self.max_bytes, self.known.get(rel))
        if isinstance(result, SourceFile):
            self.files.append(result)
        else:
            self.skipped.append(result)


def classify_file(abspath: str, rel: str, max_file_bytes: int,
                  known: tuple[int, int, str] | None = None) -> SourceFile | SkippedFile:
    """Decide one regular file's fate from its name, size and first bytes (`known`: its
    size, mtime and language as indexed, which stand for the bytes while they match)."""
    name = rel.rsplit("/", 1)[-1]
    lower = name.lower()
    ext = os.path.splitext(lower)[1]
    reason = _name_skip_reason(name, lower, ext)
    if reason:
        return SkippedFile(rel, reason)
    try:
        stat = os.stat(abspath)
        size = stat.st_size
        if size == 0:
            return SkippedFile(rel, "empty")
        if size > max_file_bytes:
            return SkippedFile(rel, f"oversize ({_mb(size)} > {_mb(max_file_bytes)})")
        if known is not None and known[:2] == (size, stat.st_mtime_ns):
            return SourceFile(path=rel, abspath=abspath, language=known[2], size=size,
                              mtime_ns=stat.st_mtime_ns)
        with open(abspath, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        return SkippedFile(rel, f"unreadable: {exc.strerror}")
    reason = _content_skip_reason(head, ext)
    if reason:
        return SkippedFile(rel, reason)
    first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    language = language_for_path(rel, first_line)
    if language is None:
        if not _looks_like_text(head):
            return SkippedFile(rel, "unknown type")
        language = "text"
    return SourceFile(path=rel, abspath=abspath, language=language, size=size,
                      mtime_ns=stat.st_mtime_ns)


def _name_skip_reason(name: str, lower: str, ext: str) -> str | None:
    if name in _LOCK_FILES:
        return "lock file"
    if name == ".git":  # a worktree's or submodule's pointer file
        return "version control (.git)"
    if lower.endswith(_MINIFIED_SUFFIXES):
        return "minified"
    if ext == ".map":
        return "source map"
    if ext and ext[1:] in _BINARY_EXTS:
        return f"binary ({ext})"
    if ext == ".svg":
        return "image (.svg)"  # XML text, but path data is noise to every retriever
    return None


def _content_skip_reason(head: bytes, ext: str) -> str | None:
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "binary"
    if _has_generated_marker(head[:1024]):
        return "generated"
    if ext in _MINIFIABLE_EXTS:
        sample = head[:4096]
        lines = sample.count(b"\n") + 1
        if len(sample) / lines > 500:
            return "minified"
    return None


def _has_generated_marker(head: bytes) -> bool:
    if not any(m in head for m in _GENERATED_MARKERS):
        return False
    for line in head.splitlines():
        if any(m in line for m in _GENERATED_MARKERS):
            stripped = line.lstrip()
            if stripped.startswith(_COMMENT_STARTS) or stripped.startswith(_GENERATED_MARKERS):
                return True
    return False


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    try:
        # A multi-byte character cut off at the end of the sample is not a decode error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _mb(size: int) -> str:
    if size >= 100_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.1f} kB"


def read_text(abspath: str) -> tuple[str, str | None]:
    """Decode a file for indexing: (text with LF line ends, warning or None).

    Bad encodings degrade to latin-1 with a warning rather than failing; OSError propagates.
    """
    with open(abspath, "rb") as fh:
        data = fh.read()
    text, warning = _decode(data)
    # Only CRLF is folded: a lone CR is not a line end for git or grep, so line numbers stay theirs.
    return text.replace("\r\n", "\n"), warning


def _decode(data: bytes) -> tuple[str, str | None]:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), None
        except UnicodeDecodeError:
            pass
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "decoded as UTF-16 (byte-order mark)"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1", errors="replace"), "not valid UTF-8, decoded as latin-1"


def classify_path(root: Path, rel: str, *, max_file_bytes: int = 1_000_000,
                  extra_ignores: tuple[str, ...] = ()) -> SourceFile | SkippedFile | None:
    """What `discover` would make of the file at repo-relative `rel`: a SourceFile, a
    SkippedFile with the reason, or None when no regular file is there (deleted)."""
    rules = _load_rules(os.path.join(root, ".git", "info", "exclude"), "", GITIGNORED)
    tracked = _Tracked(str(root), (rel,))  # asked only if a .gitignore rule matches
    extra = [_Rules("", pathspec.GitIgnoreSpec.from_lines(extra_ignores), "ignored by pattern")] \
        if extra_ignores else []
    parts = rel.split("/")
    here, rel_dir = str(root), ""
    for name in ["", *parts[:-1]]:
        if name:  # judge this directory as the walk would before descending into it
            parent, here = here, os.path.join(here, name)
            if os.path.islink(here):
                return SkippedFile(rel, "symlink")
            reason = _dir_skip_reason(here, name, parent) or _unless_tracked(
                _ignored_by(tuple(rules + extra), rel_dir + name, True), tracked, rel_dir + name, True)
            if reason:
                return SkippedFile(rel, reason)
            rel_dir += name + "/"
        for fname, why in ((".gitignore", GITIGNORED), (".codesiftignore", "codesiftignored")):
            rules += _load_rules(os.path.join(here, fname), rel_dir, why)
    full = os.path.join(root, rel)
    if os.path.islink(full):
        return SkippedFile(rel, "symlink") if os.path.exists(full) else None
    if not os.path.isfile(full):
        return None
    reason = _unless_tracked(_ignored_by(tuple(rules + extra), rel, False), tracked, rel, False)
    return SkippedFile(rel, reason) if reason else classify_file(full, rel, max_file_bytes)
