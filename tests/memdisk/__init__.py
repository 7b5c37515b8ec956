"""Tests of memdisk: find, verify, build."""
