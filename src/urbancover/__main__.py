"""``python -m urbancover``: the command line (:mod:`urbancover.app.cli`)."""
import sys

from urbancover.app.cli import main

sys.exit(main())
