"""The build script's decisions (setup.py, loaded without building): the AVX2
variant follows the compiler's target, and the Cython directives are the same
in setup.py and in every .pyx header."""

import importlib
import platform
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not (ROOT / "setup.py").exists(),
                                reason="not run from a source tree")


@pytest.fixture(scope="module")
def setup_py():
    """setup.py's globals, with setup() and cythonize() replaced by no-ops."""
    import setuptools
    from Cython import Build

    patch = pytest.MonkeyPatch()
    patch.setattr(setuptools, "setup", lambda **kwargs: None)
    patch.setattr(Build, "cythonize", lambda extensions, **kwargs: extensions)
    try:
        return runpy.run_path(str(ROOT / "setup.py"))
    finally:
        patch.undo()


@pytest.fixture
def compiler():
    # distutils as a build sees it: setuptools' copy, imported after setuptools
    # (its CompileError is the class setup.py catches).
    pytest.importorskip("setuptools")
    ccompiler = importlib.import_module("distutils.ccompiler")
    sysconfig = importlib.import_module("distutils.sysconfig")
    cc = ccompiler.new_compiler()
    if cc.compiler_type != "unix":
        pytest.skip("the probe test runs GCC or Clang")
    sysconfig.customize_compiler(cc)
    return cc


X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.skipif(not X86, reason="needs an x86-64 compiler")
def test_avx2_probe_compiles_for_an_x86_target(setup_py, compiler):
    assert setup_py["compiles"](compiler, setup_py["AVX2_PROBE"],
                                setup_py["VARIANT_FLAGS"]["avx2"])


@pytest.mark.skipif(not X86, reason="needs an x86-64 compiler")
def test_avx2_probe_fails_for_a_target_that_is_not_x86(setup_py, compiler):
    # A compiler whose target is not x86 (here: the macros that say so removed,
    # as an arm64 cross compiler would not define them) gets no AVX2 variant.
    flags = ["-U__x86_64__", "-U__i386__", *setup_py["VARIANT_FLAGS"]["avx2"]]
    assert not setup_py["compiles"](compiler, setup_py["AVX2_PROBE"], flags)


@pytest.mark.skipif(not X86, reason="needs an x86-64 compiler")
def test_avx2_decision_does_not_ask_the_build_host(setup_py, compiler, monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert setup_py["compiles"](compiler, setup_py["AVX2_PROBE"],
                                setup_py["VARIANT_FLAGS"]["avx2"])


@pytest.mark.parametrize("pyx", sorted(p.name for p in (ROOT / "adamopt").glob("*.pyx")))
def test_pyx_header_directives_equal_setup_py(setup_py, pyx):
    header = {}
    for line in (ROOT / "adamopt" / pyx).read_text().splitlines():
        if not line.startswith("# cython:"):
            break
        for item in line.removeprefix("# cython:").split(","):
            key, value = (part.strip() for part in item.split("="))
            header[key] = int(value) if re.fullmatch(r"\d+", value) else value == "True"
    assert header, f"{pyx} has no directives header"
    assert {key: setup_py["directives"][key] for key in header} == header
