"""Tests of the floppy ramdisk step."""
