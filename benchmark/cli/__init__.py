"""The `disbench` command line: one module per subcommand; each parses and checks its
options, then calls down the pipeline (config, runner, leaderboard, ...).

A subcommand module defines `COMMAND` (its name), `HELP` (one line) and
`add_arguments(parser)` plus `run(args) -> int`. `benchmark.cli.main` finds
every such module in this package, so adding a subcommand is adding a file
(`_options.py`: options several subcommands share).
Modules import heavy libraries (TensorFlow) inside `run`, never at the top.
"""
