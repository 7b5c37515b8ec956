"""A finished bundle is recognised and reused, never rebuilt (DESIGN.md, sessions).

``finished_bundle`` and ``bundle_image(reuse=True)`` find the bundle a
request made earlier, check it whole (manifest, every part's SHA-1, the
signature, what it was made for) and hand it back untouched; anything else
under that name is refused with its reason, never overwritten.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.bundle.conftest import ACCOUNT, MIB
from wizard.bundle.bundler import BundleRequest, bundle_image, finished_bundle
from wizard.bundle.check import check_bundle
from wizard.bundle.keys import BundleKeys
from wizard.core.errors import WizardError
from wizard.core.events import Event, StepFailed, StepFinished, StepProgress, StepStarted


@pytest.fixture
def request_(tmp_path: Path, bundle_keys: BundleKeys) -> BundleRequest:
    image = tmp_path / "winxp.img"
    image.write_bytes(os.urandom(3 * MIB) + bytes(MIB))
    return BundleRequest(image, tmp_path / "out", bundle_keys, ACCOUNT, arch="i386",
                         kernel_id="eki-12345678", ramdisk_id="eri-87654321",
                         part_size=1 * MIB)


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_no_bundle_yet(request_: BundleRequest) -> None:
    assert finished_bundle(request_) is None


def test_a_finished_bundle_is_reused_untouched(request_: BundleRequest) -> None:
    made = bundle_image(request_)
    assert not made.reused
    before = _snapshot(request_.destination)
    events: list[Event] = []
    again = bundle_image(request_, events.append, reuse=True)
    assert again.reused
    assert again.manifest_path == made.manifest_path
    assert again.part_paths == made.part_paths
    assert again.manifest.digest == made.manifest.digest
    assert _snapshot(request_.destination) == before  # nothing rewritten, same key
    assert isinstance(events[0], StepStarted) and "Checking" in events[0].title
    finished = events[-1]
    assert isinstance(finished, StepFinished)
    assert finished.outputs["reused"] is True
    assert finished.outputs["manifest"] == str(made.manifest_path)
    assert finished.outputs["parts"] == len(made.part_paths) >= 4
    checked = [e for e in events if isinstance(e, StepProgress)]
    assert checked[-1].done == checked[-1].total == made.manifest.bundled_size
    assert checked[-1].parts_done == checked[-1].parts_total == len(made.part_paths)
    assert [e.parts_done for e in checked] == sorted(e.parts_done or 0 for e in checked)
    # The engine's answer is the same without bundle_image.
    found = finished_bundle(request_)
    assert found is not None and found.reused


def _refused(request_: BundleRequest, *needles: str) -> None:
    before = _snapshot(request_.destination)
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        bundle_image(request_, events.append, reuse=True)
    message = caught.value.one_line()
    for needle in needles:
        assert needle in message, (needle, message)
    assert _snapshot(request_.destination) == before, "a refused bundle must stay as it was"
    if events:  # once the check started, the step ends in StepFailed
        assert isinstance(events[-1], StepFailed)


def test_a_damaged_part_is_named(request_: BundleRequest) -> None:
    made = bundle_image(request_)
    part = made.part_paths[2]
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    os.utime(made.manifest_path)  # the manifest stays newer than the image
    _refused(request_, part.name, "digest does not match")


def test_a_missing_part_is_named(request_: BundleRequest) -> None:
    made = bundle_image(request_)
    made.part_paths[1].unlink()
    _refused(request_, made.part_paths[1].name, "missing")


def test_a_part_cut_short_is_caught_before_hashing(request_: BundleRequest) -> None:
    made = bundle_image(request_)
    os.truncate(made.part_paths[-1], made.part_paths[-1].stat().st_size - 16)
    with pytest.raises(WizardError, match="cut short"):
        check_bundle(made.manifest_path)


@pytest.mark.parametrize(("change", "needle"), [
    ({"arch": "x86_64"}, "the architecture i386, not x86_64"),
    ({"kernel_id": "eki-00000000"}, "the kernel id eki-12345678, not eki-00000000"),
    ({"user": "210987654321"}, "the account 123456789012, not 210987654321"),
])
def test_a_bundle_made_for_another_request_is_refused(
    request_: BundleRequest, change: dict[str, str], needle: str
) -> None:
    from dataclasses import replace

    bundle_image(request_)
    _refused(replace(request_, **change), needle, "remove the old bundle")  # type: ignore[arg-type]


def test_an_image_changed_since_is_refused(request_: BundleRequest) -> None:
    bundle_image(request_)
    later = time.time() + 5
    os.utime(request_.image, (later, later))
    _refused(request_, "changed after the bundle")


def test_another_image_moved_into_place_is_refused(request_: BundleRequest,
                                                   tmp_path: Path) -> None:
    """Same name, same size, an mtime older than the bundle (mv keeps it): still caught."""
    other = tmp_path / "other.img"
    other.write_bytes(os.urandom(request_.image.stat().st_size))
    os.utime(other, (1_600_000_000, 1_600_000_000))
    bundle_image(request_)
    time.sleep(0.01)
    other.rename(request_.image)
    assert request_.image.stat().st_mtime < request_.destination.stat().st_mtime
    _refused(request_, "changed after the bundle")


def test_an_edited_manifest_is_refused(request_: BundleRequest) -> None:
    made = bundle_image(request_)
    raw = made.manifest_path.read_bytes()
    # Inside the signed text, in a field the request does not name.
    edited = re.sub(rb"<bundled_size>(\d+)</bundled_size>",
                    lambda m: b"<bundled_size>0</bundled_size>", raw)
    assert edited != raw
    made.manifest_path.write_bytes(edited)
    _refused(request_, "not signed with your key")


def test_parts_without_a_manifest_are_an_unfinished_bundle(request_: BundleRequest) -> None:
    """What kill -9 leaves: parts, no manifest. Refused with the command that clears it."""
    made = bundle_image(request_)
    made.manifest_path.unlink()
    for reuse in (False, True):
        with pytest.raises(WizardError) as caught:
            bundle_image(request_, reuse=reuse)
        message = caught.value.one_line()
        assert "unfinished bundle named winxp.img" in message
        assert f"rm -- {request_.destination}/winxp.img.part.*" in message
    assert len(list(request_.destination.iterdir())) == len(made.part_paths)


def test_a_volume_is_never_reused(bundle_keys: BundleKeys, tmp_path: Path,
                                  loop_device: tuple[Path, Path]) -> None:
    """A VM writing to its LVM volume leaves the device node's times alone."""
    device, _ = loop_device
    request = BundleRequest(device, tmp_path / "out", bundle_keys, ACCOUNT, prefix="vol.img")
    bundle_image(request)
    _refused(request, "volume", "cannot be told", "remove the old bundle")
