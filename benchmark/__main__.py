"""`python -m benchmark` is the `disbench` command."""

from benchmark.cli.main import main

raise SystemExit(main())
