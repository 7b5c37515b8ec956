"""A build's event log with fixed times, as the engine writes it (one stamped
JSON line each): for snapshots and the README's screenshot, where the
figures (rates, time left) must come out the same on every run."""

from __future__ import annotations

from pathlib import Path

from wizard.core.events import (
    Event,
    LogLine,
    Stamped,
    StepFinished,
    StepPhase,
    StepProgress,
    StepStarted,
    stamped_to_json,
)

KiB, MiB = 1024, 1024 * 1024
START = 1_764_583_200.0  # a fixed moment: figures depend only on differences


def mid_upload() -> list[tuple[float, Event]]:
    """Kernel and ramdisk registered, the disk image half uploaded."""
    t = START
    events: list[tuple[float, Event]] = [
        (t, StepStarted("prerequisites", "Check the tools, credentials and disk image")),
        (t + 1, StepFinished("prerequisites", {})),
        (t + 1, StepStarted("memdisk", "Get memdisk")),
        (t + 2, StepFinished("memdisk", {"memdisk": "/usr/lib/syslinux/memdisk"})),
        (t + 2, StepStarted("floppy", "Check the boot floppy")),
        (t + 3, StepFinished("floppy", {})),
    ]
    t += 3
    for role, size, image_id in (("kernel", 26 * KiB, "eki-4a6b1c2d"),
                                 ("ramdisk", 1440 * KiB, "eri-7e8f9a0b")):
        events += [
            (t, StepStarted(f"{role}.bundle", f"Bundle the {role}")),
            (t + 1, StepProgress(f"{role}.bundle", size, size, 1, 1)),
            (t + 1, StepFinished(f"{role}.bundle", {})),
            (t + 1, StepStarted(f"{role}.upload", f"Upload the {role}")),
            (t + 2, StepProgress(f"{role}.upload", size, size, 1, 1)),
            (t + 2, LogLine(f"{role}.upload", "sent 1 part, the manifest last")),
            (t + 2, StepFinished(f"{role}.upload", {})),
            (t + 2, StepStarted(f"{role}.register", f"Register the {role}")),
            (t + 3, StepFinished(f"{role}.register", {"image_id": image_id})),
        ]
        t += 3
    disk = 8 * 1024 * MiB
    events += [(t, StepStarted("image.bundle", "Bundle the disk image"))]
    for i in range(1, 11):
        events.append((t + i * 30, StepProgress("image.bundle", disk * i // 10, disk,
                                                80 * i, 800)))
    t += 300
    events += [(t, StepFinished("image.bundle", {})),
               (t, StepStarted("image.upload", "Upload the disk image")),
               (t, StepPhase("image.upload", "sending parts"))]
    for i in range(1, 32):
        events.append((t + i * 10, StepProgress("image.upload", i * 100 * MiB, disk,
                                                i * 10, 800)))
        if i % 10 == 0:
            events.append((t + i * 10, LogLine("image.upload", f"sent {i * 10} parts of 800")))
    return events


def mid_bundle() -> list[tuple[float, Event]]:
    """Kernel and ramdisk registered, the disk image half bundled."""
    events = mid_upload()
    half = [i for i, (_, event) in enumerate(events)
            if isinstance(event, StepProgress) and event.step == "image.bundle"][4]
    return events[:half + 1]


def waiting_for_available() -> list[tuple[float, Event]]:
    """The disk image uploaded and registered, the cloud still preparing it."""
    events = mid_upload()
    t = events[-1][0]
    disk = 8 * 1024 * MiB
    location = "winxp-images/winxp-image.manifest.xml"
    for i in range(32, 81):
        t += 10
        events.append((t, StepProgress("image.upload", i * 100 * MiB, disk, i * 10, 800)))
    events += [
        (t, StepFinished("image.upload", {"location": location})),
        (t, StepStarted("image.register", "Register the disk image")),
        (t, StepPhase("image.register", f"Registering {location}")),
        (t + 2, StepPhase("image.register", "waiting for available")),
        (t + 2, LogLine("image.register", "waiting for emi-1c2d3e4f to become available "
                                          "(the cloud checks its bundle first)")),
        (t + 2, LogLine("image.register", "emi-1c2d3e4f: pending")),
        (t + 32, LogLine("image.register", "emi-1c2d3e4f: pending after 30 s")),
    ]
    return events


def write_history(path: Path, events: list[tuple[float, Event]]) -> None:
    lines = [stamped_to_json(Stamped(seq, ts, event))
             for seq, (ts, event) in enumerate(events, 1)]
    path.write_text("\n".join(lines) + "\n")
