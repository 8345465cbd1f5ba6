"""Small text operations synthesis needs: a definition's code without its doc, its own
names masked, a doc's first paragraph or sentence, names split into words."""

from __future__ import annotations

import re

from codesift.tokens import split_identifier

# Comment and string markers around doc lines: Python quotes, //, ///, /** */, #, --, ;
_MARKERS = re.compile(r'^\s*(?:[rRbBuU]?"""|[rRbBuU]?\'\'\'|/\*\*?|\*/|\*|///?|//!|#+|--|;+)?\s*'
                      r'|\s*(?:"""|\'\'\'|\*/)\s*$')


def _bare(line: str) -> str:
    return _MARKERS.sub("", line).strip()


def strip_doc(code: str, doc: str) -> str:
    """`code` without the lines that hold `doc` (a docstring or a doc comment), nor the
    bare quote / comment-marker lines and the blank line around it. A line that carries
    code beside a doc phrase stays: only a line whose text, markers removed, is a doc
    line goes."""
    doc_lines = {_bare(x) for x in doc.splitlines() if _bare(x)}
    lines = code.splitlines()
    drop = [bool(doc_lines) and _bare(line) in doc_lines for line in lines]
    if not any(drop):
        return code
    # Marker-only lines (\"\"\"", /**, */) and blanks touching a dropped run go with it.
    changed = True
    while changed:
        changed = False
        for i, line in enumerate(lines):
            if drop[i] or _bare(line):
                continue
            near = (i > 0 and drop[i - 1]) or (i + 1 < len(lines) and drop[i + 1])
            if near and (line.strip() or i > 0 and drop[i - 1]):
                drop[i] = changed = True
    return "\n".join(line for line, gone in zip(lines, drop) if not gone)


def mask_names(code: str, names: list[str], placeholder: str = "fn") -> str:
    """Every whole-word occurrence of `names` replaced, so a model cannot match a doc to
    its code through the definition's own name alone."""
    words = sorted({n for n in names if len(n) > 2}, key=len, reverse=True)
    if not words:
        return code
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
    return pattern.sub(placeholder, code)


def first_paragraph(doc: str, max_chars: int = 600) -> str:
    """The doc up to its first blank line, joined into one line: the summary a reader
    writes; parameter lists and examples below it are not what a question says."""
    para: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip():
            if para:
                break
            continue
        if re.match(r"\s*(?:[:@]param|@return|Args:|Returns:|Parameters|:returns?:|>>>)", line):
            break
        para.append(line.strip())
    return " ".join(para)[:max_chars].strip()


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    return (match.group(1) if match else text).strip()


def name_words(qualname: str) -> str:
    """`HttpClient.send_request` -> "http client send request"."""
    parts = [p for piece in re.split(r"[.:#/]+|::", qualname) for p in split_identifier(piece)]
    return " ".join(parts)


def informative(text: str, min_words: int = 3) -> bool:
    """Enough words to say something (a doc of "TODO" or ":nodoc:" teaches nothing)."""
    return len(re.findall(r"[A-Za-z]{2,}", text)) >= min_words
