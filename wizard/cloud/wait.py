"""Wait for a registered image to leave ``pending``: available, or failed and why.

A Eucalyptus cloud (and the sandbox) registers an image at once but checks
its bundle afterwards, when it first prepares it: the signature, the key
wrapped for the cloud, every part and the archive's digest. Until then the
image is ``pending``; then ``available``, or ``failed`` with the reason in
its state reason. A bundle that is broken is found here, minutes after
registering, not hours later when the first instance fails to boot.

``wait_until_available`` is a phase of the caller's register step: it sends
a StepPhase ("waiting for available") and LogLines, never a second StepStarted or a
StepFinished, and raises ``WizardError`` for a failed image or a timeout.
The cancel flag stops the waiting, not the image: the cloud goes on
preparing it, and registering again finds it and waits again.
"""

from __future__ import annotations

import time
from typing import Any

from wizard.cloud.calls import DEFAULT_RETRIES, RetryPolicy, call, pause_for
from wizard.cloud.endpoints import Cloud
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, LogLine, Sink, StepPhase, discard
from wizard.core.logs import get_logger

log = get_logger(__name__)

PHASE = "waiting for available"
DEFAULT_TIMEOUT = 1800.0  # seconds: a large image on a busy cloud takes its time
POLL = 2.0
REPORT_EVERY = 30.0  # a "still pending" line this often, so a watcher sees it live


def wait_until_available(
    cloud: Cloud,
    image_id: str,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    *,
    step: str = "register",
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = POLL,
    policy: RetryPolicy = DEFAULT_RETRIES,
) -> str:
    """Poll DescribeImages until ``image_id`` is available; returns ``"available"``.

    Raises WizardError when the image failed (its reason and the fix), is
    gone, or is still pending after ``timeout`` seconds; Cancelled when
    ``cancel`` is set.
    """
    ec2 = cloud.ec2_client()
    endpoint = cloud.ec2
    assert endpoint is not None
    sink(StepPhase(step, PHASE))
    sink(LogLine(step, f"waiting for {image_id} to become available (the cloud checks its "
                       "bundle first)"))
    start = time.monotonic()
    reported = start
    seen: str | None = None
    while True:
        answer = call(lambda: ec2.describe_images(ImageIds=[image_id]),
                      what=f"look at the image {image_id}", endpoint=endpoint, cancel=cancel,
                      policy=policy, key_source=cloud.key_source,
                      secret_source=cloud.secret_source)
        images = answer.get("Images", [])
        if not images:
            raise WizardError(f"the image {image_id} is no longer registered",
                              "register the bundle again")
        image: Any = images[0]
        state = str(image.get("State") or "")
        now = time.monotonic()
        if state == "available":
            log.info("%s is available after %.0f s", image_id, now - start)
            sink(LogLine(step, f"{image_id}: available"))
            return state
        if state == "deregistered":  # Eucalyptus lists it a while after DeregisterImage
            raise WizardError(f"the image {image_id} was deregistered while waiting for it",
                              "register the bundle again")
        if state in ("failed", "invalid", "error"):
            reason = str((image.get("StateReason") or {}).get("Message") or "no reason given")
            log.info("%s failed: %s", image_id, reason)
            raise WizardError(f"the cloud could not prepare the image {image_id} ({state}: "
                              f"{reason})", fix_for(reason))
        if state != seen or now - reported >= REPORT_EVERY:
            first = seen is None
            seen, reported = state, now
            sink(LogLine(step, f"{image_id}: {state or 'no state yet'}" + (
                "" if first else f" after {_minutes(now - start)}")))
        if now - start >= timeout:
            raise WizardError(
                f"the image {image_id} is still {state or 'pending'} after "
                f"{_minutes(timeout)}: the cloud has not finished checking its bundle",
                "register it again later (the image is found and waited for again, not "
                "registered twice), or wait longer for it", key="build.wait_timeout")
        pause_for(min(poll, max(0.0, timeout - (now - start))) or poll / 10, cancel)


def fix_for(reason: str) -> str:
    """What to do about a failed image, from the cloud's reason."""
    text = reason.lower()
    redo = "; then register again (a failed image is replaced)"
    if "another cloud" in text or "ec2_encrypted" in text:
        return ("bundle again with this cloud's certificate (EUCALYPTUS_CERT from this cloud's "
                "eucarc), upload" + redo)
    if "signature" in text or "account" in text:
        return ("bundle again with this account's certificate and private key (EC2_CERT, "
                "EC2_PRIVATE_KEY and EC2_USER_ID of the eucarc you upload with), upload" + redo)
    if "part" in text:
        return ("upload the bundle again from the folder it was bundled into (upload sends "
                "what is missing or different)" + redo)
    return "bundle the image again and upload it" + redo


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
