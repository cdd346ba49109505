"""``python -m ioukit`` runs the command line."""

import sys

try:
    from .cli.main import main
except KeyboardInterrupt:  # Ctrl-C while numba and numpy load: quiet, as later
    sys.exit(130)

sys.exit(main())
