"""Names that come from outside (manifests, tar members): checked, and shown safely.

A file name read from a bundle or a tarball decides where bytes land, so it
is a plain name or nothing: one path component, not ``.`` or ``..``, no
control characters, short enough for any file system. When such a name
appears in a message it is shown with its control characters escaped, so a
crafted name cannot rewrite the operator's terminal line.
"""

from __future__ import annotations

import unicodedata

# NAME_MAX of Linux file systems, in bytes of the name's UTF-8 encoding.
NAME_MAX = 255
# Longest text of a foreign name quoted in a message.
_SHOWN_MAX = 120


def shown(name: str | bytes) -> str:
    """``name`` quoted for a message: control characters escaped, long names cut."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "backslashreplace")
    text = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in name
    )
    if len(text) > _SHOWN_MAX:
        text = text[:_SHOWN_MAX] + "…"
    return "'" + text + "'"


def plain_name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain file name (None when it is one)."""
    if not name:
        return "is empty"
    if name in (".", ".."):
        return "is a folder reference, not a file name"
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        return "holds control characters"
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        return f"is longer than {NAME_MAX} bytes"
    return None
