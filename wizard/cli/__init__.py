"""The headless face: subcommands with the flags operators know from euca2ools."""
