"""The figures of a transfer, worded once for the CLI and the wizard (wizard.core.figures)."""

from __future__ import annotations

import io

from wizard.cli.progress import ConsoleProgress
from wizard.core.events import Stamped, StepProgress, StepStarted
from wizard.core.figures import (
    PARTS,
    RATE,
    RateWindow,
    fit_words,
    sizes,
    transfer_figures,
    transfer_words,
)
from wizard.tui.buildview import BuildView

MiB = 1024 * 1024
GiB = 1024 * MiB


def test_the_figures_of_a_running_and_a_finished_transfer() -> None:
    assert transfer_figures(3 * GiB, 8 * GiB, parts_done=310, parts_total=800,
                            rate=10 * MiB, seconds_left=500) == (
        "3.0/8.0 GiB, part 310/800, 10.0 MiB/s, 8 minutes left")
    assert transfer_figures(8 * GiB, 8 * GiB, parts_done=800, parts_total=800,
                            state="done") == "8.0 GiB, part 800/800, done"
    assert transfer_figures(5 * MiB, None) == "5.0 MiB"  # no total, no rate yet
    assert sizes(800 * MiB, 8 * GiB) == "800.0 MiB/8.0 GiB"  # two units, both said


def test_the_rate_is_measured_over_a_window_of_the_events_own_times() -> None:
    window = RateWindow(window=20.0)
    window.restart(1000.0)
    assert window.rate is None or window.rate == 0
    for second in range(1, 61):  # 1 MiB/s for 30 s, then 4 MiB/s for 30 s
        done = second * MiB if second <= 30 else 30 * MiB + (second - 30) * 4 * MiB
        window.add(1000.0 + second, done)
    # The slow start has left the window: the rate is what the store does now.
    assert window.rate == 4 * MiB
    assert window.seconds_left(150 * MiB, 190 * MiB) == 10
    window.add(1061.0, 1 * MiB)  # counting from the start again: no negative rate
    assert window.rate is None


def test_words_are_dropped_to_fit_parts_first_then_the_rate() -> None:
    words = transfer_words(3 * GiB, 8 * GiB, parts_done=310, parts_total=800,
                           rate=10 * MiB, seconds_left=500)
    assert fit_words(words, 80, drop=(PARTS, RATE)) == (
        "3.0/8.0 GiB, part 310/800, 10.0 MiB/s, 8 minutes left")
    assert fit_words(words, 45, drop=(PARTS, RATE)) == "3.0/8.0 GiB, 10.0 MiB/s, 8 minutes left"
    assert fit_words(words, 30, drop=(PARTS, RATE)) == "3.0/8.0 GiB, 8 minutes left"
    assert fit_words(words, 12, drop=(PARTS, RATE)) == "3.0/8.0 GiB…"[:11] + "…"


def test_the_cli_and_the_wizard_word_one_event_log_the_same_way() -> None:
    """Both faces read the same stamped events (a replayed log) into the same figures."""
    stamps = [Stamped(1, 100.0, StepStarted("image.upload", "Upload the disk image"))]
    stamps += [Stamped(1 + i, 100.0 + 10 * i, StepProgress("image.upload", i * 100 * MiB,
                                                           8 * GiB, i * 10, 820))
               for i in range(1, 34)]  # the last one starts a tenth: the CLI prints it
    stream = io.StringIO()
    console = ConsoleProgress(stream, tty=False)
    view = BuildView()
    for stamp in stamps:
        console.show(stamp)
        view.apply(stamp.seq, stamp.ts, stamp.event)
    shown = view.rows["image"].upload.describe()
    assert shown.startswith("3.2/8.0 GiB, part 330/820, 10.0 MiB/s, ")
    assert shown.endswith(" minutes left")
    assert stream.getvalue().splitlines()[-1].endswith(f"({shown})")
