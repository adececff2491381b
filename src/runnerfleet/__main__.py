"""`python -m runnerfleet` is the `runnerfleet` command."""

from runnerfleet.cli import main

raise SystemExit(main())
