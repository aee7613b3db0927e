from bench.fanout.cli import main

main()
