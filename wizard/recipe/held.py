"""A bundle the cloud holds: its local folder removed, its image still registered.

An operator frees the space of a finished session by removing its bundle
folder. Run again, the session must not bundle, send and register the
image a second time (a duplicate image, a new id): when the state file
records the role's upload and register steps done from that very bundle
(its digest), and the cloud still has the recorded image registered from
the recorded location, the bundle and the upload are held in the cloud and
count as done.
"""

from __future__ import annotations

from wizard.cloud.register import ImageRequest, find_registered
from wizard.core.errors import WizardError
from wizard.recipe.context import StepContext


def held_in_cloud(ctx: StepContext, role: str, digest: object) -> str | None:
    """A line saying the cloud holds the bundle of ``role`` with ``digest``; else None."""
    upload, register = f"{role}.upload", f"{role}.register"
    sent, registered = ctx.done_before.get(upload), ctx.done_before.get(register)
    location = ctx.previous.get(upload, {}).get("location")
    image_id = ctx.previous.get(register, {}).get("image_id")
    if not (digest and sent is not None and registered is not None and location
            and image_id):
        return None
    if sent.get("digest") != digest or sent.get("bucket") != ctx.answers.build.bucket:
        return None
    if registered.get("digest") != digest or registered.get("location") != location:
        return None
    try:
        found = find_registered(ctx.cloud(), ImageRequest(location=str(location),
                                                          name=str(registered.get("name"))))
    except WizardError:
        return None
    if found != image_id:
        return None
    return (f"its files here are gone, but the cloud holds the bundle: {image_id} is "
            f"registered from {location}, as recorded, so nothing is bundled or sent again")
