"""`python -m bench`: the same as `python bench/bench.py`."""

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
