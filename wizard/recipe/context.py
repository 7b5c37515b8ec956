"""What the steps of one build share: the answers, its folders, the cloud, earlier outputs.

The credentials and the cloud are loaded once, when a step first needs
them (the prerequisites step, or the first step of a resumed build): a
build that stops at the floppy never reads a key. Their values come from
the answers first (each named by its answer key, ``cloud.access_key``),
then the environment, the eucarc the answers name, and ``~/.euca``, as for
every command (``wizard.credentials``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.credentials import Credentials, load_credentials
from wizard.recipe.workdir import CLAIM_FILE, claimed_folder

if TYPE_CHECKING:
    from wizard.cloud.endpoints import Cloud
    from wizard.session.answers import Answers, CloudAnswers

# Credential field -> the answer key that sets it.
ANSWER_KEYS: dict[str, str] = {
    "s3_url": "cloud.s3_url", "ec2_url": "cloud.ec2_url", "access_key": "cloud.access_key",
    "secret_key": "cloud.secret_key", "user": "cloud.account", "cert": "cloud.cert",
    "private_key": "cloud.private_key", "cloud_cert": "cloud.cloud_cert",
    "region": "cloud.region", "ca_bundle": "cloud.ca_bundle", "verify_ssl": "cloud.verify_ssl",
}


def credentials_from_answers(cloud: CloudAnswers) -> Credentials:
    """The credentials the answers give, over the environment, the eucarc and ~/.euca."""
    region, user = cloud.region, None
    if region and "@" in region:
        user, region = region.split("@", 1)
    given: dict[str, str | None] = {
        "s3_url": cloud.s3_url, "ec2_url": cloud.ec2_url, "access_key": cloud.access_key,
        "secret_key": cloud.secret_key, "user": cloud.account,
        "cert": str(cloud.cert) if cloud.cert else None,
        "private_key": str(cloud.private_key) if cloud.private_key else None,
        "cloud_cert": str(cloud.cloud_cert) if cloud.cloud_cert else None,
        "region": region or None,
        "ca_bundle": str(cloud.ca_bundle) if cloud.ca_bundle else None,
        "verify_ssl": None if cloud.verify_ssl is None else str(cloud.verify_ssl).lower(),
    }
    # A value the answers gave says so ("answers cloud.cert").
    return load_credentials(given, eucarc=cloud.eucarc, region_name=region or None,
                            user_name=user or None,
                            sources={name: f"answers {key}" for name, key in ANSWER_KEYS.items()})


@dataclass
class StepContext:
    """One build's shared view: the steps read earlier outputs and the cloud from here."""

    session: str
    answers: Answers
    folder: Path  # the session's folder: bundles go below it unless the answers say where
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What each step recorded in an earlier run (its outputs then), and how
    # many times it has been done over (``SessionState``'s generation).
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    # The inputs of each step the state file records done when the run began.
    done_before: dict[str, dict[str, Any]] = field(default_factory=dict)
    _credentials: Credentials | None = field(default=None, repr=False)
    _clouds: dict[tuple[str, ...], Cloud] = field(default_factory=dict, repr=False)
    _bundles_root: Path | None = field(default=None, repr=False)

    def output(self, step: str, key: str) -> Any:
        return self.outputs[step][key]

    def generation(self, step: str) -> int:
        return self.generations.get(step, 1)

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = credentials_from_answers(self.answers.cloud)
        return self._credentials

    def cloud(self, services: tuple[str, ...] = ("s3", "ec2")) -> Cloud:
        """The cloud, described from the credentials (no call is made here)."""
        from wizard.cloud.endpoints import cloud_from_credentials

        if services not in self._clouds:
            self._clouds[services] = cloud_from_credentials(self.credentials,
                                                            services=services)
        return self._clouds[services]

    def bundle_folder(self, role: str) -> Path:
        """Where the bundle of ``role`` (kernel, ramdisk, image) is made.

        The same folder every run of the session, so a resumed build, or one
        whose state file was lost, finds its finished bundles again; inside
        the session's private folder (0700), or a folder of its own claimed
        in ``build.work_dir``, so nobody else can put anything in it.
        """
        return self.bundles_root() / role

    def bundles_root(self) -> Path:
        # Found (or claimed) once: every step of the run, and the clearing and
        # the bundling of one step, use the very same folder.
        if self._bundles_root is None:
            work_dir = self.answers.build.work_dir
            self._bundles_root = (self.folder / "bundles" if work_dir is None else
                                  claimed_folder(self.folder / CLAIM_FILE, work_dir,
                                                 self.session))
        return self._bundles_root

    @property
    def work_folder(self) -> Path:
        """Scratch space of the session (a memdisk build)."""
        return self.folder / "work"
