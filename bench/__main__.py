"""``python -m bench [--quick]``: run every benchmark."""

from __future__ import annotations

import sys

from bench import sweep

if __name__ == "__main__":
    sweep.main(sys.argv[1:])
