"""The entry `make bench` calls: `python bench/bench.py [options]` (see `bench.cli`).

Run as a script, Python puts this folder first on the import path, where `bench` would be
this file; the project's root goes there instead so that `bench` is the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    from bench.cli import main

    sys.exit(main())
