"""Tests of the Windows disk image inspection and conversion."""
