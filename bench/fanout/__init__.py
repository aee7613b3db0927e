"""Fan-out benchmark: 1,000 sockets x 20 of 500 symbols, three servers, one command.

    .venv/bin/python -m bench.fanout [--quick]

See bench/README.md (section "Fan-out") for what it measures and the figures of a run.
"""
