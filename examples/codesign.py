"""Co-design study: how the oxygen-vacancy level of VO2-x sets network accuracy, energy and latency.

Run ``python examples/codesign.py`` (or ``vo2neuro codesign``); ``--quick`` for a small grid. Writes
``output/codesign/codesign.md``, ``codesign.json`` and ``codesign.png``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from vo2neuro.explore.codesign import codesign, plot_codesign


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="three deltas, short training (a smoke run)")
    ap.add_argument("--out", default="output/codesign")
    args = ap.parse_args(argv)
    kw = dict(deltas=(0.0, 0.01, 0.02), epochs=3, hidden=(48,), n_images=30) if args.quick else {}
    res = codesign(out=args.out, progress=not args.quick, **kw)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "codesign.md").write_text(res.table_md() + "\n")
    (out / "codesign.json").write_text(json.dumps(res.to_dict(), indent=2))
    plot_codesign(res, out / "codesign.png")
    print(res.table_md())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
