"""What a step of the recipe is: its id and title (``StepInfo``).

Step ids are unique within a build (``kernel.bundle``, ``image.upload``):
events, the state file and the TUI all key on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepInfo:
    """A step as a list shows it: its id and its title in the operator's words."""

    id: str
    title: str
