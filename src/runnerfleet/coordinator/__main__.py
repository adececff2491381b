"""`python -m runnerfleet.coordinator` runs the coordinator."""

import sys

from runnerfleet.coordinator.cli import main

raise SystemExit(main(sys.argv[1:]))
