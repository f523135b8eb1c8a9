import sys

from urbancover.cli import main

sys.exit(main())
