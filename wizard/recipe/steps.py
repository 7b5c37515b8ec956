"""What a step of the recipe is: an id, a title, its inputs, a ``done()`` test and ``run()``.

Step ids are unique within a build (``kernel.bundle``, ``image.upload``):
events, the state file and the TUI all key on them.

A step takes what earlier steps produced by naming them (the image's
register step takes ``("image.upload", "location")`` and the kernel's
``image_id``), never by their kind: a later step kind that bundles and
uploads in one stream gives the same outputs (``manifest``, ``location``)
and the steps after it do not change.

``inputs(ctx)`` is what the step is made from, as JSON (paths, answers,
earlier outputs, and a fingerprint of each input file): the runner records
it, and a step whose inputs changed since it was done is done again.
``done(ctx, recorded)`` checks that the outputs recorded last time still
hold (the bundle is still whole, the store still holds the manifest, the
image is still registered); ``run(ctx, sink, cancel)`` does the work and
returns the outputs. ``held_elsewhere(ctx, recorded)`` (rare) says why a step
whose outputs no longer hold needs no redoing: what it made is held further on.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wizard.core.events import (
    CancelFlag,
    Event,
    Sink,
    StepFailed,
    StepFinished,
    StepPhase,
    StepStarted,
)

Outputs = dict[str, Any]


@dataclass(frozen=True)
class StepInfo:
    """A step as a list shows it: its id and its title in the operator's words."""

    id: str
    title: str


class Context(Protocol):
    """What a step sees of the build it runs in (``wizard.recipe.context.StepContext``)."""

    def output(self, step: str, key: str) -> Any:
        """An output of an earlier step of this build (KeyError when it has none)."""


class Step(abc.ABC):
    """One step of the recipe; each kind gives ``run`` (and ``inputs``, ``done`` where
    the defaults, no inputs and never done before, do not fit)."""

    id: str
    title: str
    # Done again on every run, even when done before (checks that are cheap
    # and whose answers change between runs).
    every_run: bool = False

    def __init__(self, step_id: str, title: str) -> None:
        self.id = step_id
        self.title = title

    @property
    def info(self) -> StepInfo:
        return StepInfo(self.id, self.title)

    def inputs(self, ctx: Any) -> dict[str, Any]:
        """What the step is made from, as JSON; a change since it was done redoes it."""
        return {}

    def done(self, ctx: Any, recorded: Mapping[str, Any]) -> bool:
        """Whether the outputs recorded when it was done (``recorded``) still hold."""
        return False

    def held_elsewhere(self, ctx: Any, recorded: Mapping[str, Any]) -> str | None:
        """When ``done`` is false: why doing the step again is of no use anyway (what it
        made is held further on: a bundle whose folder was removed, but whose image the
        cloud still has registered), as a line for the log; None when it must be done."""
        return None

    @abc.abstractmethod
    def run(self, ctx: Any, sink: Sink, cancel: CancelFlag) -> Outputs:
        """Do the step; returns its outputs (JSON: paths as strings, ids, digests)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


def step_sink(step_id: str, sink: Sink) -> Sink:
    """The sink an engine call of a step reports to.

    The engine's functions report under their own names ("bundle",
    "upload"): here their events carry the step's id, a second
    ``StepStarted`` becomes a ``StepPhase`` (the runner has started the
    step), and their ``StepFinished``/``StepFailed`` are left to the runner,
    which ends the step once with the step's own outputs.
    """

    def relay(event: Event) -> None:
        if isinstance(event, (StepFinished, StepFailed)):
            return
        if isinstance(event, StepStarted):
            sink(StepPhase(step_id, event.title))
            return
        sink(dataclasses.replace(event, step=step_id))

    return relay
