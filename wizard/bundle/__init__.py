"""Instance-store bundles: make them (``bundler``) and read them back (``unbundler``).

The format is the one in BUNDLE-FORMAT.md: one tar member, SHA-1 of the tar
stream, one gzip member, AES-128-CBC, 10 MiB parts and a signed manifest.
"""
