"""The code graph: references resolved to definitions, traversal, ranking."""
