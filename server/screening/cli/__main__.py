"""`python -m screening.cli`: the `screening` command."""

import sys

from screening.cli.main import main

sys.exit(main())
