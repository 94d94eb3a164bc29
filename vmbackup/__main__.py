"""``python -m vmbackup``: see :mod:`vmbackup.cli`."""

import sys

from vmbackup.cli import main

sys.exit(main())
