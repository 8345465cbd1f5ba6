"""Frozen records passed between the stages of the data flow.

discover -> SourceFile; parse -> ParsedFile (Symbols + References); chunk -> Chunk;
retrieve -> Hit. Stages never mutate these; they build new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file discovery decided to index."""

    path: str  # repo-relative, posix separators
    abspath: str
    language: str  # "python", "typescript", ... or a fallback kind: "markdown", "text", ...
    size: int
    mtime_ns: int = 0  # lets an unchanged file skip being read and hashed again


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file discovery decided not to index, and why (shown by `index --dry-run`)."""

    path: str
    reason: str  # e.g. "gitignored", "binary", "oversize (2.3 MB > 1 MB)", "vendored (node_modules)"


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition found by the parser. Lines are 1-based and inclusive."""

    name: str  # the bare name: "send"
    qualname: str  # qualified within the repo: "pkg.client.HttpClient.send", "(*Server).Handle"
    kind: str  # function, method, class, struct, interface, trait, enum, module, impl, ...
    signature: str  # the declaration line(s) up to the body, whitespace-normalised
    doc: str  # docstring or leading doc comment, without comment markers
    start_line: int
    end_line: int
    parent: str | None = None  # qualname of the enclosing definition
    body_start_line: int | None = None  # first line of the body (for eliding bodies)


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a name recorded at parse time, resolved into graph edges later."""

    kind: str  # "call", "import", "inherit", "implement", "reference" (a type use)
    name: str  # as written: "self.save", "os.path.join", "Base", "./util"
    line: int
    scope: str | None = None  # qualname of the enclosing definition, None at module level


@dataclass(frozen=True, slots=True)
class Edge:
    """A reference resolved (or not) to a definition: one row of the code graph.
    Definitions are named by (path, qualname); `src` is "" for module-level code."""

    kind: str  # calls, imports, inherits, implements, references
    src_path: str
    src: str
    name: str  # the reference as written
    line: int
    dst_path: str | None = None  # None when the reference could not be resolved
    dst: str | None = None
    confidence: float = 0.0  # 1.0 certain; shared out among candidates when ambiguous


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A definition as a node of the code graph; symbol "" is a file's module-level code."""

    path: str
    symbol: str
    kind: str
    start_line: int
    end_line: int
    signature: str = ""

    def to_dict(self) -> dict:
        return {"path": self.path, "symbol": self.symbol, "kind": self.kind,
                "start_line": self.start_line, "end_line": self.end_line,
                "signature": self.signature}


@dataclass(frozen=True, slots=True)
class GraphHit:
    """A node reached by a graph query: how far, through which reference, how surely."""

    node: GraphNode
    depth: int  # 1 = a direct caller / callee / subclass
    via: str  # the symbol at the other end of the edge that reached this node
    edge: str  # calls, imports, inherits, implements, references
    line: int  # where the reference is written
    confidence: float  # product of the edge confidences along the way
    seen_before: bool = False  # reached already (recursion, a cycle, another path): not expanded again

    def to_dict(self) -> dict:
        return {**self.node.to_dict(), "depth": self.depth, "via": self.via,
                "edge": self.edge, "line": self.line,
                "confidence": round(self.confidence, 4), "seen_before": self.seen_before}


@dataclass(frozen=True, slots=True)
class ParsedFile:
    path: str
    language: str
    symbols: tuple[Symbol, ...] = ()
    references: tuple[Reference, ...] = ()
    module: str = ""  # module / package name the qualnames start with, "" if none
    error: str | None = None  # set when the deep parser failed and the fallback was used


@dataclass(frozen=True, slots=True)
class Chunk:
    """A unit of retrieval. `embedding_text` feeds the dense model (bounded to its window);
    `context_text` is the exact source range shown to users and LLMs."""

    path: str
    language: str
    kind: str  # function, method, class (skeleton), module (header), block, section, ...
    symbol: str  # qualified name, or a heading / "" for anonymous blocks
    start_line: int
    end_line: int
    embedding_text: str
    context_text: str
    is_test: bool = False
    parent: str | None = None  # qualname of the enclosing definition (class of a method)
    name: str = ""  # bare name of the symbol, for exact symbol match


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result. Lines are 1-based and inclusive; path is repo-relative posix."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    language: str
    score: float
    snippet: str = ""
    is_test: bool = False  # test code (a test file, or a test inside another, as Rust's)
    sources: tuple[str, ...] = field(default=())  # which retrievers found it: lexical, dense, symbol
    # The file's kind: source, test, docs, example, changelog, locale, config, generated or
    # vendored (ingest/kinds.py).
    file_kind: str = "source"

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "kind": self.kind,
            "language": self.language,
            "score": round(self.score, 6),
            "is_test": self.is_test,
            "file_kind": self.file_kind,
            "sources": list(self.sources),
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on what a search may return."""

    languages: tuple[str, ...] = ()
    path_glob: str | None = None  # SQLite GLOB semantics; a plain prefix also works
    kinds: tuple[str, ...] = ()
    exclude_tests: bool = False

    @property
    def active(self) -> bool:
        return bool(self.languages or self.path_glob or self.kinds or self.exclude_tests)


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A stored chunk as the retrievers read it back."""

    id: int
    path: str
    language: str
    kind: str
    symbol: str
    name: str
    parent: str | None
    start_line: int
    end_line: int
    is_test: bool
    file_kind: str = ""  # the file's kind (ingest/kinds.py); "" in an index not yet classified


@dataclass(frozen=True, slots=True)
class RepoEvidence:
    """What one index has to say about a query, in terms comparable across indexes."""

    chunks: int  # chunks in the index
    doc_freqs: dict[str, int]  # each query term's chunk count
    best_cosine: float | None  # the query's best cosine with a chunk vector; None: no vectors
    embedder: str = ""  # the model the cosine comes from ("" for none)
