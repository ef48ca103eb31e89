"""Strip per-cell metadata that churns on every run from Jupyter notebooks.

    python tools/strip_notebook_metadata.py notebooks/*.ipynb           # rewrite in place
    python tools/strip_notebook_metadata.py --check notebooks/*.ipynb   # exit 1, list files

Removed from every cell's ``metadata``: ``execution`` (the iopub/shell timestamps that
``nbconvert --execute`` writes), ``ExecuteTime`` (the same from a Jupyter extension), and the
view state ``collapsed`` and ``scrolled``. Kept: outputs, execution counts, ``tags`` (nbval's
markers among them), ``jupyter.source_hidden`` (a cell folded on purpose) and anything else.

A file is written only when something was removed, with the formatting nbformat itself uses
(sorted keys, indent 1, non-ASCII kept, a trailing newline), so a clean notebook is never
touched and a stripped one differs from the original only in the removed keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NOISY_KEYS = ("execution", "ExecuteTime", "collapsed", "scrolled")


def strip(notebook: dict) -> bool:
    """Remove the noisy keys from every cell's metadata, in place; True if any was there."""
    changed = False
    for cell in notebook.get("cells", []):
        metadata = cell.get("metadata", {})
        for key in NOISY_KEYS:
            if key in metadata:
                del metadata[key]
                changed = True
    return changed


def dumps(notebook: dict) -> str:
    """The text nbformat.write gives (nbformat.v4.nbjson: sort_keys, indent=1)."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help=".ipynb files")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list the files that would change and exit 1")
    args = parser.parse_args(argv)
    dirty = []
    for path in args.notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if not strip(notebook):
            continue
        dirty.append(path)
        if not args.check:
            path.write_text(dumps(notebook), encoding="utf-8")
    for path in dirty:
        print(f"{'would strip' if args.check else 'stripped'} {path}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
