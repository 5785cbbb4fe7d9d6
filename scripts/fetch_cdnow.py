"""Fetch the CDNOW sample summary (Fader, Hardie & Lee 2005) from the `lifetimes` wheel on PyPI into tests/data.

    python3 scripts/fetch_cdnow.py

The wheel ships `cdnow_customers_summary_with_transactions.csv`: 2,357 customers of the CDNOW
sample with x (repeat purchases), t_x (week of the last one), T (weeks observed) and zbar (mean
spend of the repeat purchases). The lifetime-value models are validated against the estimates
published for it. The file is committed, so the tests need no network.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "lifetimes==0.11.3"
MEMBER = "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv"
TARGET = Path(__file__).resolve().parent.parent / "tests" / "data" / "cdnow_summary.csv"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", scratch],
                       check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(zipfile.ZipFile(wheel).read(MEMBER))
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
