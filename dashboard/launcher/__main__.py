"""`python -m dashboard.launcher [--port N] …`: what `scripts/run.sh` and `manage.py serve` run."""

import sys

from dashboard.launcher.stack import main

sys.exit(main())
