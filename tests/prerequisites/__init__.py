"""Tests of the prerequisites checks and the check command."""
