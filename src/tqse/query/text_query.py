"""A text query checked once, the same way wherever it arrives (API, CLI, page, query description): a
caption or a list of captions, each a non-empty string of valid Unicode and of sensible length."""

from __future__ import annotations

from tqse.errors import QueryError

MAX_QUERY_CHARS = 2000  # captions are a sentence; longer text is almost certainly a mistake (a file pasted)


def as_list(value, name: str) -> tuple[list, bool]:
    if isinstance(value, (list, tuple)):
        if not value:
            raise QueryError(f"the {name} list is empty")
        return list(value), True
    return [value], False


def text_queries(text) -> tuple[list[str], bool]:
    """``text`` (a caption or a list of captions) -> (clean captions, given as a list)."""
    texts, many = as_list(text, "text query")
    clean = []
    for i, caption in enumerate(texts):
        label = f"text query {i + 1}" if many else "the text query"
        if not isinstance(caption, str):
            raise QueryError(f"{label} must be a string, got {type(caption).__name__}")
        if not caption.strip():
            raise QueryError(f"{label} is empty")
        try:
            caption.encode("utf-8")
        except UnicodeEncodeError as err:
            raise QueryError(f"{label} contains an invalid character (U+{ord(caption[err.start]):04X} at "
                             f"position {err.start}, a lone surrogate): fix the text's encoding") from None
        if len(caption) > MAX_QUERY_CHARS:
            raise QueryError(f"{label} is {len(caption)} characters long (at most {MAX_QUERY_CHARS}): give a caption")
        clean.append(caption.strip())
    return clean, many
