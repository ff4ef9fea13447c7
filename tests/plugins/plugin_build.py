"""Compiling plugin libraries for the tests, with the system compiler."""

import subprocess

import cnnrt


def build_plugin(tmp_path, source: str, name: str = "plugin") -> str:
    """Compiles C++ source into a plugin library with the system compiler; returns its path."""
    src = tmp_path / f"{name}.cc"
    src.write_text(source)
    lib = tmp_path / f"lib{name}.so"
    r = subprocess.run(["c++", "-O1", "-std=c++17", "-shared", "-fPIC",
                        f"-I{cnnrt.plugin_include_dir()}", str(src), "-o", str(lib)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(lib)
