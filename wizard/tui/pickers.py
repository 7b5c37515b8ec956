"""A real file picker (textual-fspicker's modal ``FileOpen``) for path fields."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input
from textual_fspicker import FileOpen


def pick_into(field: Input, title: str) -> None:
    """Open the picker at the field's folder; the chosen path fills the field."""
    current = Path(field.value).expanduser() if field.value else Path.home()
    start = current.parent if current.is_file() else current
    if not start.is_dir():
        start = Path.home()

    def chosen(path: Path | None) -> None:
        if path is not None:
            field.value = str(path)
            field.focus()
            field.post_message(Input.Submitted(field, field.value))

    field.app.push_screen(FileOpen(start, title=title), chosen)
