"""codesift: index a repository and find the right code for a question.

    import codesift
    with codesift.open_index("path/to/repo") as index:
        index.update()
        for hit in index.search("where are retries configured?", k=5):
            print(hit.path, hit.start_line, hit.symbol)
        graph = index.graph()
        for caller in graph.callers(graph.find("save_session"), depth=2):
            print(caller.node.symbol, caller.line, caller.confidence)
        context = index.context("how are uploads retried?", budget=2000)
        print(context.text, [str(c) for c in context.citations])
"""

from .api import Index, open_index
from .config import Settings
from .errors import CodesiftError
from .model import Chunk, Edge, Filters, GraphHit, GraphNode, Hit, Symbol

__version__ = "0.1.0"


def __getattr__(name: str):
    # The indexer pulls in tree-sitter; `import codesift` for a search should not.
    if name == "IndexSummary":
        from .indexer import IndexSummary
        return IndexSummary
    if name == "Context":
        from .pack import Context
        return Context
    raise AttributeError(f"module 'codesift' has no attribute {name!r}")

__all__ = [
    "Chunk",
    "CodesiftError",
    "Context",
    "Edge",
    "Filters",
    "GraphHit",
    "GraphNode",
    "Hit",
    "Index",
    "IndexSummary",
    "Settings",
    "Symbol",
    "__version__",
    "open_index",
]
