"""The wheel: built by scripts/build-wheel.sh, installed with pip into a fresh venv (numpy from
PyPI, nothing from this checkout), it puts a `density` that needs only glibc, libstdc++ and
libgcc_s on the venv's PATH; `density demo` and the examples run from there."""

import glob
import os
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from conftest import EXAMPLES, REPO
from serve_helpers import Server

ALLOWED = ("linux-vdso.so", "libc.so", "libm.so", "ld-linux", "libpthread.so", "libdl.so", "librt.so",
           "libstdc++.so", "libgcc_s.so")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    build = subprocess.run([os.path.join(REPO, "scripts", "build-wheel.sh")], cwd=REPO, capture_output=True,
                           text=True, timeout=1500)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = os.path.join(REPO, build.stdout.splitlines()[-1].split(" (")[0])   # the path the script printed
    assert os.path.basename(wheel).startswith("feature_density-") and "-py3-none-manylinux_" in wheel
    assert os.path.isfile(wheel)
    folder = tmp_path_factory.mktemp("wheel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DENSITY_BIN", "PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run([str(folder / "bin" / "pip"), "install", "--quiet", wheel], env=env,
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    env["PATH"] = f"{folder / 'bin'}{os.pathsep}/usr/bin:/bin"
    return folder, wheel, env


def test_the_wheel_is_a_valid_wheel_with_the_binary_as_a_script(venv):
    _, wheel, _ = venv
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read([n for n in names if n.endswith(".dist-info/RECORD")][0]).decode()
        tags = archive.read([n for n in names if n.endswith(".dist-info/WHEEL")][0]).decode()
    assert any(n.endswith(".data/scripts/density") for n in names)
    assert any(n.endswith(".data/scripts/density-serve") for n in names)
    assert "feature_density/__init__.py" in names and "feature_density_recorder.py" in names
    assert all(line.split(",")[1].startswith("sha256=") for line in record.splitlines() if not line.endswith("RECORD,,"))
    assert "Root-Is-Purelib: false" in tags and f"Tag: {os.path.basename(wheel).split('-', 2)[2][:-4]}" in tags


@pytest.mark.parametrize("tool", ["density", "density-serve"])
def test_the_installed_tools_need_only_glibc_libstdcxx_and_libgcc(venv, tool):
    folder, _, env = venv
    binary = folder / "bin" / tool
    assert os.access(binary, os.X_OK)
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    libraries = [line.split()[0] for line in ldd.splitlines() if line.strip()]
    assert libraries and all(lib.startswith(ALLOWED) or lib.startswith("/lib64/ld-linux") for lib in libraries), ldd
    assert not any(name in ldd for name in ("sqlite", "zstd", "libz.", "swift", "Foundation"))


def test_density_serve_from_the_venv_serves_the_demo(venv, tmp_path):
    """`density serve` finds density-serve beside it in the venv's bin and answers the API."""
    folder, _, env = venv
    subprocess.run([str(folder / "bin" / "density"), "demo", "--features", "64", "--checkpoints", "4"],
                   cwd=tmp_path, env=env, capture_output=True, check=True, timeout=300)
    server = Server(str(tmp_path / "density.sqlite"), binary=[str(folder / "bin" / "density"), "serve"])
    try:
        assert server.json("/api/runs")[0]["checkpoints"] == 4
    finally:
        server.stop()


def test_density_demo_and_the_numpy_example_run_from_the_venv(venv, tmp_path):
    folder, _, env = venv
    demo = subprocess.run(["density", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "density.sqlite").exists()
    runs = subprocess.run(["density", "runs"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert "demo" in runs.stdout
    python = str(folder / "bin" / "python")
    where = subprocess.run([python, "-c", "import feature_density as f; print(f.__file__); print(f.find_density())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where[0].startswith(str(folder)) and where[1] == str(folder / "bin" / "density")
    for _ in range(2):  # the second run resumes and finds everything done
        example = subprocess.run([python, os.path.join(EXAMPLES, "numpy_example.py"), "--db", "np.sqlite"],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert example.returncode == 0, example.stderr
    assert "steps 51 to 50" in example.stdout


def test_the_torch_examples_run_against_the_wheel(venv, tmp_path):
    """torch, torchmetrics and sae-lens come from the test environment (a .pth after the venv's own
    site-packages); feature_density and density come from the wheel."""
    folder, _, env = venv
    site = glob.glob(str(folder / "lib" / "python*" / "site-packages"))[0]
    with open(os.path.join(site, "zz-test-environment.pth"), "w") as pth:
        pth.write(sysconfig.get_paths()["purelib"] + "\n")
    python = str(folder / "bin" / "python")
    for arguments in (["torchmetrics_example.py", "--db", "tm.sqlite", "--steps", "9", "--every", "4"],
                      ["pytorch_example.py", "--db", "pt.sqlite", "--steps", "25"],
                      ["saelens_example.py", "--db", "sl.sqlite", "--out", "sl", "--steps", "20", "--window", "10"]):
        result = subprocess.run([python, os.path.join(EXAMPLES, arguments[0]), *arguments[1:]], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    check = subprocess.run([python, "-c", "import feature_density as f, torch; print(f.__file__); "
                            "print(f.Store('tm.sqlite').checkpoints('torchmetrics-example')['step'].tolist()); "
                            "print(f.Store('pt.sqlite').checkpoints('pytorch-example')['step'].tolist()); "
                            "print(f.Store('sl.sqlite').checkpoints('saelens-synthetic')['step'].tolist())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    assert check[0].startswith(str(folder))
    assert check[1:4] == ["[4, 8, 9]", "[10, 20, 25]", "[10, 20]"]
