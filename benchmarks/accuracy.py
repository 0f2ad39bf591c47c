"""Real-data accuracy benchmark (the code is in benchmarks/accuracy_bench/).

Usage::

    python benchmarks/accuracy.py                # full run (~60 min on 2 cores) -> benchmarks/results/accuracy.{json,md}
    python benchmarks/accuracy.py --quick        # development: 1 dataset, a few hundred articles
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when loaded from elsewhere than this folder

from accuracy_bench.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
