"""The language registry: which language a path is, how to load its grammar and query,
and how that language names its tests, comments and qualified names.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

QUERY_DIR = Path(__file__).parent / "queries"


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """Static facts about one deep (tree-sitter) language."""

    name: str
    extensions: tuple[str, ...]
    grammar: tuple[str, str]  # (python module, function returning the language capsule)
    line_comment: tuple[str, ...] = ("//",)
    block_comment: tuple[str, str] | None = ("/*", "*/")
    shebangs: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()  # extensionless names: Gemfile, Rakefile
    test_patterns: tuple[str, ...] = ()  # regexes over the file's basename
    # Regexes over the lines attached above a definition (attributes, annotations) that
    # make it, and all inside it, test code in a file that is not: Rust's inline tests.
    test_attributes: tuple[str, ...] = ()
    sep: str = "."  # qualname separator between nested definitions


@dataclass(frozen=True, slots=True)
class Grammar:
    """A loaded grammar: the tree-sitter Language and its compiled definitions query."""

    spec: LanguageSpec
    language: object  # tree_sitter.Language
    query: object  # tree_sitter.Query

    def parser(self):
        # A Parser is cheap to build and not safe to share across threads, so callers get a new one.
        from tree_sitter import Parser

        return Parser(self.language)


_C_FAMILY_TESTS = (r"^test_.*", r".*_test\.(c|cc|cpp|cxx)$", r".*_unittest\.(cc|cpp)$")

SPECS: dict[str, LanguageSpec] = {
    s.name: s
    for s in (
        LanguageSpec(
            "python", (".py", ".pyi", ".pyw"), ("tree_sitter_python", "language"),
            line_comment=("#",), block_comment=None, shebangs=("python", "python2", "python3"),
            test_patterns=(r"^test_.*\.py$", r".*_test\.py$", r"^conftest\.py$", r"^tests?\.py$"),
        ),
        LanguageSpec(
            "javascript", (".js", ".mjs", ".cjs", ".jsx"), ("tree_sitter_javascript", "language"),
            shebangs=("node", "nodejs", "deno", "bun"),
            test_patterns=(r".*\.(test|spec)\.[cm]?jsx?$",),
        ),
        LanguageSpec(
            "typescript", (".ts", ".mts", ".cts"), ("tree_sitter_typescript", "language_typescript"),
            shebangs=("ts-node", "tsx"), test_patterns=(r".*\.(test|spec)\.[cm]?ts$",),
        ),
        LanguageSpec(
            "tsx", (".tsx",), ("tree_sitter_typescript", "language_tsx"),
            test_patterns=(r".*\.(test|spec)\.tsx$",),
        ),
        LanguageSpec("go", (".go",), ("tree_sitter_go", "language"), test_patterns=(r".*_test\.go$",)),
        LanguageSpec(
            "rust", (".rs",), ("tree_sitter_rust", "language"), sep="::",
            test_patterns=(r".*_test\.rs$", r"^tests?\.rs$"),
            # #[cfg(test)] mod tests { ... }, and #[test] / #[tokio::test] functions
            test_attributes=(r"#\[\s*cfg\s*\(\s*test\s*\)\s*\]", r"#\[\s*(?:\w+::)*test\s*[\](]"),
        ),
        LanguageSpec(
            "java", (".java",), ("tree_sitter_java", "language"),
            test_patterns=(r".*Tests?\.java$", r"^Test.*\.java$", r".*IT\.java$"),
        ),
        LanguageSpec("c", (".c", ".h"), ("tree_sitter_c", "language"), sep="::",
                     test_patterns=_C_FAMILY_TESTS),
        LanguageSpec(
            "cpp", (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp"),
            ("tree_sitter_cpp", "language"), sep="::", test_patterns=_C_FAMILY_TESTS,
        ),
        LanguageSpec(
            "csharp", (".cs",), ("tree_sitter_c_sharp", "language"),
            test_patterns=(r".*Tests?\.cs$",),
        ),
        LanguageSpec(
            "ruby", (".rb", ".rake", ".gemspec", ".ru"), ("tree_sitter_ruby", "language"),
            line_comment=("#",), block_comment=("=begin", "=end"), shebangs=("ruby", "jruby"),
            filenames=("Gemfile", "Rakefile", "Guardfile", "Vagrantfile"), sep="::",
            test_patterns=(r".*_spec\.rb$", r".*_test\.rb$", r"^test_.*\.rb$"),
        ),
        LanguageSpec(
            "php", (".php", ".phtml", ".php5", ".php7", ".phps"), ("tree_sitter_php", "language_php"),
            line_comment=("//", "#"), shebangs=("php",), sep="\\",
            test_patterns=(r".*Test\.php$", r".*_test\.php$"),
        ),
    )
}

DEEP_LANGUAGES: frozenset[str] = frozenset(SPECS)
# Languages of the fallback splitter that are prose or configuration, not code.
PROSE_LANGUAGES = frozenset({"markdown", "rst", "text"})
CONFIG_LANGUAGES = frozenset({"yaml", "toml", "json"})

# Fallback kinds: no grammar, split by the fallback splitter on headings / blank lines.
_FALLBACK_EXTENSIONS: dict[str, str] = {
    ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown", ".rst": "rst",
    ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".json": "json", ".jsonc": "json", ".json5": "json", ".ipynb": "json",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".ksh": "shell", ".fish": "shell",
    ".sql": "sql", ".ddl": "sql", ".psql": "sql",
}
_TEXT_EXTENSIONS = frozenset(
    ".txt .text .cfg .ini .conf .properties .env .editorconfig .html .htm .xml .xhtml .css .scss"
    " .sass .less .vue .svelte .tex .adoc .asciidoc .org .csv .tsv .graphql .gql .proto .tf .hcl"
    " .gradle .kt .kts .scala .swift .m .mm .lua .pl .pm .r .jl .dart .ex .exs .erl .hs .ml .clj"
    " .el .vim .ps1 .bat .cmd .mk .cmake .dockerfile .j2 .jinja .tmpl .tpl .mustache .hbs .svg"
    " .rdoc .pod .man .lock .gitignore .gitattributes .dockerignore .npmignore .pyx .pxd .in".split()
)
_TEXT_FILENAMES = frozenset(
    "README LICENSE LICENCE COPYING NOTICE AUTHORS CONTRIBUTORS CHANGELOG CHANGES HISTORY NEWS"
    " TODO INSTALL MANIFEST Makefile GNUmakefile Dockerfile Containerfile Procfile Jenkinsfile"
    " CODEOWNERS Justfile Brewfile".split()
)
_SHELL_INTERPRETERS = frozenset({"sh", "bash", "zsh", "ksh", "dash", "ash", "fish"})

_TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "specs", "testing", "testdata", "e2e"})


@lru_cache(maxsize=None)
def _extension_map() -> dict[str, str]:
    table = dict(_FALLBACK_EXTENSIONS)
    for spec in SPECS.values():
        table.update({ext: spec.name for ext in spec.extensions})
    return table


def _interpreter(first_line: str) -> str | None:
    """The interpreter named by a `#!` line: `#!/usr/bin/env python3 -u` -> `python3`."""
    if not first_line.startswith("#!"):
        return None
    words = first_line[2:].split()
    if not words:
        return None
    prog = PurePosixPath(words[0]).name
    if prog == "env":
        args = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        prog = args[0] if args else ""
    # python3.11 -> python3, ruby2.7 -> ruby
    return re.sub(r"[\d.]+$", "", prog) or prog


def language_for_path(path: str, first_line: str = "") -> str | None:
    """The deep language or fallback kind of a file, or None if it is not worth searching."""
    p = PurePosixPath(path)
    name = p.name
    suffix = p.suffix.lower()
    found = _extension_map().get(suffix)
    if found:
        return found
    if suffix in _TEXT_EXTENSIONS:
        return "text"
    for spec in SPECS.values():
        if name in spec.filenames:
            return spec.name
    prog = _interpreter(first_line)
    if prog:
        for spec in SPECS.values():
            if prog in spec.shebangs or prog.rstrip("0123456789") in spec.shebangs:
                return spec.name
        if prog in _SHELL_INTERPRETERS:
            return "shell"
    stem = name.split(".")[0]
    if stem.upper() in _TEXT_FILENAMES or stem in _TEXT_FILENAMES or name.lower().startswith(
        ("readme", "license", "changelog", "dockerfile")
    ):
        return "text"
    return None


@lru_cache(maxsize=None)
def _spec_regex(language: str, field: str) -> re.Pattern[str] | None:
    """One regex of a language's `test_patterns` or `test_attributes` (None: it has none)."""
    patterns = getattr(SPECS[language], field) if language in SPECS else ()
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def test_attribute_regex(language: str) -> re.Pattern[str] | None:
    return _spec_regex(language, "test_attributes")


def is_test_path(path: str, language: str) -> bool:
    """True when the path is test code by directory or by the language's naming convention."""
    parts = PurePosixPath(path).parts
    dirs = {d.lower() for d in parts[:-1]}
    if dirs & _TEST_DIRS:
        return True
    # Maven/Gradle keep tests under src/test/<lang>/..., Go uses *_test.go anywhere.
    if "src" in parts and "test" in dirs:
        return True
    regex = _spec_regex(language, "test_patterns")
    return bool(regex and parts and regex.match(parts[-1]))


@lru_cache(maxsize=None)
def load_grammar(language: str) -> Grammar:
    """Import the grammar module and compile the query once per process (per language)."""
    from tree_sitter import Language, Query

    spec = SPECS[language]
    module, func = spec.grammar
    lang = Language(getattr(importlib.import_module(module), func)())
    # TSX is TypeScript plus JSX; its definitions query is TypeScript's.
    query_name = "typescript" if language == "tsx" else language
    source = (QUERY_DIR / f"{query_name}.scm").read_text(encoding="utf-8")
    return Grammar(spec, lang, Query(lang, source))
