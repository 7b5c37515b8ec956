"""``python -m wizard``: the same as the ``euca-windows-wizard`` command."""

import sys

from wizard.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
