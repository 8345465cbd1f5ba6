"""What kind of file each indexed path is: source, test, docs, example, changelog, locale,
config, generated or vendored, so that ranking can prefer the code a question is about.

GitHub linguist's rules are the reference, through go-enry's bindings (`enry-python`) where
a wheel exists: its list of vendored libraries and directories and its generated-code
detectors. Linguist sorts files for language statistics, not for retrieval, so its
"vendored" also holds tool configuration, test fixtures and a project's own doc templates;
those are classified here first, and the rest (examples, changelogs, locale data) is ours.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath
from types import ModuleType

from .languages import CONFIG_LANGUAGES, DEEP_LANGUAGES, language_for_path, is_test_path

SOURCE, TEST, DOCS, EXAMPLE, CHANGELOG = "source", "test", "docs", "example", "changelog"
LOCALE, CONFIG, GENERATED, VENDORED = "locale", "config", "generated", "vendored"
KINDS = (SOURCE, TEST, DOCS, EXAMPLE, CHANGELOG, LOCALE, CONFIG, GENERATED, VENDORED)
# Bumped whenever a rule below changes: an index classified otherwise is classified again
# (paths and first bytes only; nothing is re-parsed or re-embedded).
RULES_VERSION = "1"
HEAD_BYTES = 8192  # what the generated-code detectors see of a file

# Third-party trees by their directory, whatever linguist says (and without it).
_THIRD_PARTY_DIR = re.compile(
    r"(?:^|/)(?:(?:3rd|[Tt]hird)[-_]?[Pp]arty|vendors?|[Ee]xtern(?:als?)?|bower_components"
    r"|node_modules)/|^deps/")
# Browser libraries that documentation generators bundle into their themes and linguist's
# list lacks (Sphinx ships underscore.js, MkDocs lunr.js and its language packs); with the
# few linguist knows best, they are also the list used where enry-python is not installed.
_KNOWN_LIBRARIES = re.compile(
    r"(?:^|/)(?:underscore|lunr|jquery|bootstrap|html5shiv|modernizr)(?:[-.][\w.-]*)?\.(?:js|css)$")
# Linguist rules that name something other than third-party code for this purpose: a
# project's own `cache/` or `env/` package and its own doc templates and static files (a
# library among them is still caught by its file name, as `docs/_static/jquery.js`).
_LINGUIST_MASK = re.compile(r"(?:^|/)(?:cache|env|docs?/_?(?:build|themes?|templates?|static))/")
# Files linguist calls vendored that a project writes itself.
_OWN_FILES = re.compile(r"(?:^|/)(?:Jenkinsfile|Vagrantfile|fabfile\.py)$|\.d\.[cm]?ts$")

# Translation catalogs by format, and locale data by the directory that holds it. Code under
# a locale directory (Sphinx's `locale/__init__.py`, a JS locale module) stays code.
_LOCALE_EXTS = frozenset({".po", ".pot", ".mo", ".xlf", ".xliff", ".ftl", ".arb", ".strings",
                          ".stringsdict"})
_LOCALE_DIRS = frozenset({"locale", "locales", "i18n", "l10n", "translations", "lc_messages"})
_LOCALE_DATA_EXTS = frozenset({".json", ".yaml", ".yml", ".toml", ".properties", ".ini", ".txt",
                               ".csv", ".xml", ".dat"})

_CHANGELOG_STEMS = frozenset({"changelog", "changes", "history", "news", "release-notes",
                              "release_notes", "releasenotes", "whatsnew", "whats-new",
                              "whats_new"})
_CHANGELOG_DIRS = frozenset({"changelog.d", "changes", "newsfragments", "changelog",
                             "release-notes", "releasenotes", "whatsnew"})
_EXAMPLE_DIRS = frozenset({"example", "examples", "_examples", "sample", "samples", "demo",
                           "demos"})
# linguist's documentation rules, plus `docs/` at any depth (monorepos) and notebooks.
_DOCS_PATH = re.compile(r"^[Dd]ocs?/|(?:^|/)docs/|(?:^|/)[Dd]ocumentation/|^[Mm]an/"
                        r"|(?:^|/)(?:[Jj]ava|[Gg]roovy)doc/|(?:^|/)inst/doc/|\.ipynb$")
_DOCS_STEMS = frozenset({"readme", "contributing", "copying", "install", "license", "licence",
                         "citation", "authors", "contributors", "code_of_conduct", "security",
                         "notice", "todo", "faq"})
_PROSE_LANGUAGES = frozenset({"markdown", "rst"})
_PROSE_TEXT_EXTS = frozenset({"", ".txt", ".text", ".adoc", ".asciidoc", ".org", ".rdoc",
                              ".pod", ".man", ".tex"})
_CONFIG_TEXT_EXTS = frozenset({".cfg", ".ini", ".conf", ".properties", ".env", ".in", ".lock",
                               ".dockerfile", ".editorconfig"})
_CONFIG_NAMES = frozenset({"makefile", "gnumakefile", "dockerfile", "containerfile", "procfile",
                           "jenkinsfile", "vagrantfile", "codeowners", "justfile", "brewfile",
                           "manifest", "setup.cfg", "tox.ini"})


@lru_cache(maxsize=1)
def linguist() -> ModuleType | None:
    """go-enry's bindings, or None where no wheel installs (they ship for Linux x86-64 and
    macOS arm64): the hand rules above then stand alone."""
    try:
        import enry
    except (ImportError, OSError):  # OSError: the shared library failed to load
        return None
    return enry


def rules_id() -> str:
    """Which rules classify here: an index classified under others is classified again."""
    return f"{RULES_VERSION}+{'enry' if linguist() is not None else 'hand'}"


def classify(path: str, language: str | None = None, head: bytes | None = None) -> str:
    """The kind of the file at repo-relative `path`; `head` is its first bytes (None when
    unknown: the generated-code detectors that read content are then skipped)."""
    language = language or language_for_path(path) or "text"
    p = PurePosixPath(path)
    dirs = [d.lower() for d in p.parts[:-1]]
    name = p.name.lower()
    ext = p.suffix.lower()
    stem = name.split(".")[0]
    if _THIRD_PARTY_DIR.search(path):
        return VENDORED
    if is_test_path(path, language):
        return TEST
    if _is_locale(dirs, ext, language):
        return LOCALE
    prose = language in _PROSE_LANGUAGES or (language == "text" and ext in _PROSE_TEXT_EXTS)
    if any(part.startswith(".") for part in p.parts):
        # .github/, .vscode/, .gitignore: tool and CI configuration (and the repository's
        # contributing guides and templates, which are prose; `.jshintignore` has no suffix)
        return DOCS if prose and ext else CONFIG
    if _is_vendored(path):
        return VENDORED
    if _is_generated(path, head):
        return GENERATED
    if prose and (stem in _CHANGELOG_STEMS or _CHANGELOG_DIRS.intersection(dirs)):
        return CHANGELOG
    if _EXAMPLE_DIRS.intersection(dirs):
        return EXAMPLE
    if name in _CONFIG_NAMES or (stem.startswith("requirements") and ext in (".txt", ".in")):
        return CONFIG
    if prose or _DOCS_PATH.search(path) or (stem in _DOCS_STEMS and language == "text"):
        return DOCS
    if language in CONFIG_LANGUAGES or (language == "text" and ext in _CONFIG_TEXT_EXTS):
        return CONFIG
    return SOURCE


@lru_cache(maxsize=65_536)
def path_kind(path: str, language: str | None = None) -> str:
    """`classify` by the path alone (a path a query names; a file of an index written before
    kinds were stored, until its next update classifies it with its content)."""
    return classify(path, language)


def _is_locale(dirs: list[str], ext: str, language: str) -> bool:
    if ext in _LOCALE_EXTS:
        return True
    return language not in DEEP_LANGUAGES and ext in _LOCALE_DATA_EXTS \
        and bool(_LOCALE_DIRS.intersection(dirs))


def _is_vendored(path: str) -> bool:
    if _KNOWN_LIBRARIES.search(path):
        return True
    enry = linguist()
    if enry is None or _OWN_FILES.search(path):
        return False
    masked = _LINGUIST_MASK.sub(lambda m: m.group(0)[:-1] + "_/", path)  # cache/ -> cache_/
    return enry.is_vendor(masked)


def _is_generated(path: str, head: bytes | None) -> bool:
    enry = linguist()
    if enry is None:
        return False
    # Lock files and node_modules never get here (discovery skips them); the content
    # detectors (minified, source maps, Cython, protobuf, parser generators, ...) read the
    # first bytes only, which bounds their cost on large files.
    return enry.is_generated(path, head if head is not None else b"")
