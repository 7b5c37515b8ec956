"""The Windows disk image: its format, partitions and NT boot files."""
