"""The recipe: the ordered steps of a build, one list per mode (memdisk, native)."""
