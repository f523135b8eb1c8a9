"""``python -m urbancover``: the command line (:mod:`urbancover.cli`)."""
import sys

from urbancover.cli import main

sys.exit(main())
