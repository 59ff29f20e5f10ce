"""The `disbench` command line: one small module per subcommand, no logic of its own.

A subcommand module defines `COMMAND` (its name), `HELP` (one line) and
`add_arguments(parser)` plus `run(args) -> int`. `benchmark.cli.main` finds
every such module in this package, so adding a subcommand is adding a file.
Modules import heavy libraries (TensorFlow) inside `run`, never at the top.
"""
