"""The account id, as the manifest and the cloud want it: 12 digits.

Operators write it as the dashboard shows it (1234-5678-9012) or as the
eucarc's EC2_USER_ID / EC2_ACCOUNT_NUMBER holds it (123456789012); both the
credentials (where it is read) and the bundle (which writes it into the
manifest's <user>) check it here, with one rule and one message.
"""

from __future__ import annotations

import re

from wizard.core.errors import WizardError

_ACCOUNT = re.compile(r"\d{12}")


def normalise_account(value: str, source: str | None = None) -> str:
    """The 12-digit account id of ``value`` (spaces and dashes dropped); WizardError if none.

    ``source`` says where the value came from ("eucarc ~/creds/eucarc").
    """
    digits = re.sub(r"[\s-]", "", value)
    if not _ACCOUNT.fullmatch(digits):
        where = f" (from {source})" if source else ""
        raise WizardError(
            f"the account id {value!r}{where} is not 12 digits",
            "give your 12-digit account id (dashes are allowed, e.g. 1234-5678-9012; it is "
            "EC2_USER_ID or EC2_ACCOUNT_NUMBER in your eucarc)",
            key="cloud.account",
        )
    return digits
