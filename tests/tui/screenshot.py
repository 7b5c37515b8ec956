"""Write the README's screenshot of the Build screen: ``python -m tests.tui.screenshot [OUT]``.

The same fixed build as the snapshot test (``history.mid_upload``: kernel and
ramdisk registered, the disk image uploading), followed by the wizard at
80x24 while this process holds the session's lock, saved as Textual's own
SVG (default: assets/tui/build-screen.svg).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def shoot(out: Path) -> None:
    from tests.tui.history import mid_upload, write_history
    from wizard.session.lock import BuildLock
    from wizard.session.store import claim_session
    from wizard.tui.app import make_app
    from wizard.tui.screens.build import Figures

    paths = claim_session("winxp")
    write_history(paths.events, mid_upload())
    with BuildLock(paths.lock, "winxp"):
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            while getattr(app.screen, "NAME", "") != "build":
                await pilot.pause(0.05)
            figures = app.screen.query_one("#image-upload-text", Figures)
            while "part 310/800" not in figures.words:
                await pilot.pause(0.05)
            await pilot.pause()
            app.save_screenshot(filename=out.name, path=str(out.parent))


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "assets" / "tui" / "build-screen.svg"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_STATE_HOME"] = folder
        asyncio.run(shoot(out.resolve()))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
