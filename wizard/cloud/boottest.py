"""The boot test: launch one instance of a new image, see it run, read its console, end it.

What ``--boot-test`` does after registering (``register --boot-test``, and
``run``'s option): RunInstances of the image (one instance), wait until it is
``running`` (or says why it is not), read its console output for a while
(Windows under memdisk prints little, and late), then terminate it, whatever
happened, also on Ctrl+C. The report says what was seen; it cannot say that
Windows started (an instance that runs may still sit at a blue screen): the
console text is shown for the operator to judge.

Against the sandbox nothing boots: moto keeps instances as records, and the
sandbox's console answer starts with a line saying so (``imageapi``), which
the report repeats. Like the wait, this is a phase of the caller's step:
StepPhase and LogLine events only; errors raise WizardError.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from wizard.cloud.calls import DEFAULT_RETRIES, RetryPolicy, call, pause_for
from wizard.cloud.endpoints import Cloud
from wizard.cloud.imageapi import SANDBOX_CONSOLE
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, LogLine, Sink, StepPhase, discard
from wizard.core.logs import get_logger

log = get_logger(__name__)

INSTANCE_TYPE = "m1.small"
RUN_TIMEOUT = 900.0
CONSOLE_WAIT = 300.0
POLL = 5.0


@dataclass(frozen=True)
class BootReport:
    """What the boot test saw."""

    image_id: str
    instance_id: str
    state: str  # the last state seen before terminating: "running" when it ran
    console: str  # the console output ("" when the cloud gave none in time)
    sandbox: bool  # the sandbox answered: nothing booted

    def summary(self) -> str:
        if self.sandbox:
            return (f"boot test of {self.image_id}: instance {self.instance_id} was "
                    f"{self.state}, but the sandbox boots nothing (its instances are records "
                    "only); try the image on a real cloud")
        seen = "with console output (above)" if self.console else "with no console output yet"
        return (f"boot test of {self.image_id}: instance {self.instance_id} reached "
                f"{self.state} {seen}; it was terminated")


def boot_test(
    cloud: Cloud,
    image_id: str,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    *,
    step: str = "boot-test",
    instance_type: str = INSTANCE_TYPE,
    timeout: float = RUN_TIMEOUT,
    console_wait: float = CONSOLE_WAIT,
    poll: float = POLL,
    policy: RetryPolicy = DEFAULT_RETRIES,
) -> BootReport:
    """Launch, wait for running, read the console, terminate; returns what was seen.

    Raises WizardError when the cloud refuses to launch the image, or the
    instance does not run within ``timeout`` seconds (its state reason
    named); the instance is terminated in every case once launched.
    """
    ec2 = cloud.ec2_client()
    endpoint = cloud.ec2
    assert endpoint is not None

    def ask(fn: Any, what: str) -> Any:
        return call(fn, what=what, endpoint=endpoint, cancel=cancel, policy=policy,
                    key_source=cloud.key_source, secret_source=cloud.secret_source)

    sink(StepPhase(step, "launching one instance"))
    # A plain dict: Eucalyptus clouds name their own instance types (the stubs list EC2's).
    launch: dict[str, Any] = {"ImageId": image_id, "MinCount": 1, "MaxCount": 1,
                              "InstanceType": instance_type}
    answer = ask(lambda: ec2.run_instances(**launch), f"launch an instance of {image_id}")
    instance_id = str(answer["Instances"][0]["InstanceId"])
    sink(LogLine(step, f"launched {instance_id} ({instance_type}) from {image_id}"))
    try:
        state = _wait_running(ask, ec2, instance_id, sink, cancel, step, timeout, poll)
        sink(StepPhase(step, "reading the console"))
        console = _console(ask, ec2, instance_id, cancel, console_wait, poll)
    finally:
        # Whatever happened (Ctrl+C too): no instance is left running and billing.
        sink(StepPhase(step, "terminating the instance"))
        with contextlib.suppress(WizardError):
            call(lambda: ec2.terminate_instances(InstanceIds=[instance_id]),
                 what=f"terminate {instance_id}", endpoint=endpoint, policy=policy,
                 key_source=cloud.key_source, secret_source=cloud.secret_source)
            sink(LogLine(step, f"terminated {instance_id}"))
    sandbox = console.startswith(SANDBOX_CONSOLE.strip()[:40])
    report = BootReport(image_id, instance_id, state, console, sandbox)
    log.info("%s", report.summary())
    return report


def _wait_running(ask: Any, ec2: Any, instance_id: str, sink: Sink, cancel: CancelFlag | None,
                  step: str, timeout: float, poll: float) -> str:
    sink(StepPhase(step, "waiting for running"))
    start = time.monotonic()
    seen = ""
    while True:
        answer = ask(lambda: ec2.describe_instances(InstanceIds=[instance_id]),
                     f"look at the instance {instance_id}")
        instances = [i for r in answer.get("Reservations", []) for i in r.get("Instances", [])]
        instance = instances[0] if instances else {}
        state = str((instance.get("State") or {}).get("Name") or "")
        if state != seen:
            seen = state
            sink(LogLine(step, f"{instance_id}: {state or 'no state yet'}"))
        if state == "running":
            return state
        if state in ("shutting-down", "terminated", "stopped", "stopping"):
            reason = (instance.get("StateReason") or {}).get("Message") or "no reason given"
            raise WizardError(f"the instance {instance_id} of the image stopped before it ran "
                              f"({state}: {reason})",
                              "look at the cloud's node controller log for the instance; "
                              "check the image's kernel and ramdisk ids and the bundle")
        if time.monotonic() - start >= timeout:
            raise WizardError(f"the instance {instance_id} is still {state or 'pending'} after "
                              f"{timeout:.0f} s (it was terminated)",
                              "the cloud may be short of resources: try again later, or a "
                              "smaller instance type")
        pause_for(poll, cancel)


def _console(ask: Any, ec2: Any, instance_id: str, cancel: CancelFlag | None,
             wait: float, poll: float) -> str:
    start = time.monotonic()
    while True:
        answer = ask(lambda: ec2.get_console_output(InstanceId=instance_id),
                     f"read the console of {instance_id}")
        text = str(answer.get("Output") or "")
        if text or time.monotonic() - start >= wait:
            return text
        pause_for(poll, cancel)
