"""Write a copy of a Ray wheel without the parts ``--actors`` never loads, to fit a 64 MiB upload.

The GPU machine has no package index, and what travels to it is capped at 64 MiB. Ray 2.60's
wheel for its Python (3.12) is 79 MB, 32 MB of which is Java (``ray/jars``); the rest of what
goes is Ray's own libraries (RLlib, Tune, Train, Serve, Data, LLM), which the project's
actors (``muzero_lite/actors.py``: ``ray.init``, remote actors, ``ray.put``/``get``/``wait``/
``kill``) and ``ray start`` do not import. The core (``_raylet.so``, the raylet and GCS
binaries, the dashboard agent's Python that the raylet starts) stays whole.

    python tools/slim_ray_wheel.py ray-2.60.0-cp312-...whl .whl-ray/

The copy keeps the wheel's name and metadata; its ``RECORD`` lists only the files kept, with
their hashes, so ``pip install --no-index --no-deps`` takes it like the original.
``tools/ray_wheels.sh`` downloads Ray and its dependencies and calls this.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import zipfile
from pathlib import Path

DROPPED = ("ray/jars/", "ray/rllib/", "ray/tune/", "ray/train/", "ray/serve/", "ray/llm/",
           "ray/data/")


def kept(name: str) -> bool:
    return not name.startswith(DROPPED)


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def slim(wheel: Path, out_dir: Path) -> Path:
    if not wheel.name.startswith("ray-") or wheel.suffix != ".whl":
        raise ValueError(f"{wheel} is not a Ray wheel (ray-*.whl)")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / wheel.name
    if target.resolve() == wheel.resolve():
        raise ValueError(f"the output {target} would overwrite the input")
    with zipfile.ZipFile(wheel) as source:
        infos = source.infolist()
        # The wheel's own RECORD sits at the top (vendored packages inside ray/ have theirs).
        records = [i.filename for i in infos
                   if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/RECORD")]
        if len(records) != 1:
            raise ValueError(f"{wheel}: expected one top-level .dist-info/RECORD, found "
                             f"{len(records)}")
        record_name = records[0]
        lines = []
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=9) as copy:
            for info in infos:
                if info.filename == record_name or not kept(info.filename):
                    continue
                data = source.read(info)
                copy.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
                if not info.is_dir():
                    lines.append(record_line(info.filename, data))
            lines.append(f"{record_name},,")
            copy.writestr(source.getinfo(record_name), "\n".join(lines) + "\n",
                          compress_type=zipfile.ZIP_DEFLATED)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    target = slim(args.wheel, args.out_dir)
    before, after = args.wheel.stat().st_size, target.stat().st_size
    print(f"{target}: {after / 2**20:.1f} MiB (from {before / 2**20:.1f} MiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
