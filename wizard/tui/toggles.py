"""Radio buttons, checkboxes and a checklist whose state is in the glyph.

Textual's ``RadioButton``, ``Checkbox`` and ``SelectionList`` draw the same
glyph on and off (``▐●▌``, ``▐X▌``) and tell the two apart by colour alone:
with NO_COLOR, on a monochrome terminal or to a colour-blind operator both
recipes look chosen. These drop-in subclasses draw ``(•)`` / ``( )`` and
``[x]`` / ``[ ]`` (the "on" one also in the theme's success colour, bold),
and otherwise behave, post messages and take keys exactly as Textual's.
"""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import widgets
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.widgets import OptionList
from textual.widgets.option_list import OptionDoesNotExist

RADIO_ON, RADIO_OFF = "(•)", "( )"
CHECK_ON, CHECK_OFF = "[x]", "[ ]"

SelectionType = TypeVar("SelectionType")


def _glyph(toggle: widgets.RadioButton | widgets.Checkbox, on: str, off: str) -> Content:
    """The button part of a toggle: the state's own glyph, not a coloured block."""
    if not toggle.value:
        return Content(off)
    # The theme's "on" colour (the toggle--button component's foreground), in bold.
    colour = toggle.get_visual_style("toggle--button").foreground
    return Content.styled(on, Style(foreground=colour, bold=True))


class RadioButton(widgets.RadioButton):
    """A radio button drawn ``(•) label`` when chosen and ``( ) label`` when not."""

    @property
    def _button(self) -> Content:
        return _glyph(self, RADIO_ON, RADIO_OFF)


class Checkbox(widgets.Checkbox):
    """A checkbox drawn ``[x] label`` when ticked and ``[ ] label`` when not."""

    @property
    def _button(self) -> Content:
        return _glyph(self, CHECK_ON, CHECK_OFF)


class SelectionList(widgets.SelectionList[SelectionType]):
    """A checklist whose rows start ``[x]`` when ticked and ``[ ]`` when not.

    Textual's own draws its ``▐X▌`` prefix in ``render_line`` from
    ``ToggleButton``'s class attributes; this draws the glyph instead, the
    same width (so clicks and the left gutter still line up).
    """

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)
        index = self.scroll_offset.y + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        ticked = selection.value in self._selected
        underlying = next(iter(line)).style or self.rich_style
        # The option index in the meta makes a click on the glyph toggle its row.
        meta = RichStyle(meta={"option": index})
        glyph_style = underlying + meta
        if ticked:
            colour = self.get_component_rich_style("selection-list--button-selected").color
            glyph_style += RichStyle(color=colour, bold=True)
        return Strip([Segment(CHECK_ON if ticked else CHECK_OFF, style=glyph_style),
                      Segment(" ", style=underlying), *line])
