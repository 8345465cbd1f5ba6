"""Context packing: ranked hits -> the most useful lines within a token budget, with
citations (packer.py); whole chunks in rank order as the baseline to beat (naive.py).
"""

from .context import Citation, Context, ContextItem, Why
from .naive import pack_whole_chunks
from .packer import check_budget, pack

__all__ = ["Citation", "Context", "ContextItem", "Why", "check_budget", "pack",
           "pack_whole_chunks"]
