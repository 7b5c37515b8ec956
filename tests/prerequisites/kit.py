"""A credentials kit as a Eucalyptus zip holds it, pointing at local endpoints."""

from __future__ import annotations

from pathlib import Path

from tests.prerequisites.certfiles import rsa_key, write_cert, write_key

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY0"
ACCESS = "AKIAEXAMPLE123456789"


def make_kit(folder: Path, ec2_url: str, s3_url: str, *, matching_key: bool = True,
             cert_days_to: int = 365) -> Path:
    """Write eucarc, the user's cert and key, and cloud-cert.pem; returns the eucarc."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa_key()
    write_cert(key, folder / "euca2-admin-cert.pem", days_from=-10 if cert_days_to < 0 else -1,
               days_to=cert_days_to)
    write_key(key if matching_key else rsa_key(), folder / "euca2-admin-pk.pem")
    cloud = rsa_key()
    write_cert(cloud, folder / "cloud-cert.pem", name="eucalyptus")
    eucarc = folder / "eucarc"
    eucarc.write_text(
        "EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)\n"
        f"export EC2_URL={ec2_url}\n"
        f"export S3_URL={s3_url}\n"
        f"export EC2_ACCESS_KEY='{ACCESS}'\n"
        f"export EC2_SECRET_KEY='{SECRET}'\n"
        "export EC2_CERT=${EUCA_KEY_DIR}/euca2-admin-cert.pem\n"
        "export EC2_PRIVATE_KEY=${EUCA_KEY_DIR}/euca2-admin-pk.pem\n"
        "export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem\n"
        "export EC2_USER_ID='123456789012'\n"
        "alias ec2-bundle-image=\"ec2-bundle-image --cert ${EC2_CERT}\"\n"
    )
    return eucarc
