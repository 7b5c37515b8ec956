"""Tests of credentials, the cloud engine and the upload/register/sandbox commands."""
