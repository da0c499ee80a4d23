#!/usr/bin/env bash
# Builds the Python wheel that carries the `density` tool:
#   dist/feature_density-<version>-py3-none-manylinux_2_<N>_<arch>.whl
# `pip install` of that file puts `density` on the environment's PATH (the wheel's
# <name>.data/scripts/) and makes `import feature_density` work, on a Linux machine with neither
# Swift nor the SQLite, zstd or zlib -dev packages: the binary links the Swift runtime statically
# (--static-swift-stdlib) and SQLite, zstd and zlib from their static archives, so it needs only
# glibc, libstdc++ and libgcc_s. <N> is the newest glibc symbol version the binary uses.
#
#   scripts/build-wheel.sh            # release build in .build-wheel/, wheel in dist/
#   scripts/build-wheel.sh --no-build # reuse the last build
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=.build-wheel
static_libs="$PWD/$scratch/static-libs"
# The tools the wheel ships, each installed on PATH: `density`, and `density-serve`, the web UI
# that `density serve` runs from beside it.
tools=(density density-serve)
if [ "${1:-}" != "--no-build" ]; then
    # The module maps say `link "sqlite3"` (and "zstd", "z"): the linker takes the first
    # libNAME.so or libNAME.a along its search path. A folder holding only the static archives,
    # searched first, makes it take those.
    mkdir -p "$static_libs"
    for name in sqlite3 zstd z; do
        archive=$(gcc -print-file-name="lib$name.a")
        if [ ! -f "$archive" ]; then
            echo "error: lib$name.a not found: install libsqlite3-dev libzstd-dev zlib1g-dev (they ship the static archives)" >&2
            exit 1
        fi
        ln -sf "$archive" "$static_libs/lib$name.a"
    done
    # libsqlite3.a calls libm (and, on glibc before 2.34, libdl and libpthread, now in libc).
    for tool in "${tools[@]}"; do
        swift build -c release --product "$tool" --scratch-path "$scratch" --static-swift-stdlib \
            -Xlinker -L"$static_libs" -Xlinker -lm
    done
fi
bin_path="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"
staging="$scratch/wheel"
rm -rf "$staging"
mkdir -p "$staging"
for tool in "${tools[@]}"; do
    binary="$bin_path/$tool"
    [ -x "$binary" ] || { echo "error: $binary was not built" >&2; exit 1; }
    # Only glibc's libraries, libstdc++ and libgcc_s may be needed at run time.
    for library in $(objdump -p "$binary" | awk '/NEEDED/ {print $2}'); do
        case "$library" in
            libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*.so.*|libstdc++.so.*|libgcc_s.so.*) ;;
            *) echo "error: $tool needs $library; only glibc, libstdc++ and libgcc_s may be dynamic" >&2; exit 1 ;;
        esac
    done
    strip -o "$staging/$tool" "$binary"
done

python3 - "${tools[@]/#/$staging/}" <<'PYTHON'
"""Writes the wheel (PEP 427): the package, the tools as scripts, METADATA, WHEEL and RECORD.
The first tool is `density`, whose version must be the package's."""
import base64, hashlib, os, platform, re, subprocess, sys, zipfile

binary, binaries = sys.argv[1], sys.argv[1:]
pyproject = open("python/pyproject.toml").read()
version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
summary = re.search(r'^description = "([^"]+)"', pyproject, re.M).group(1)
tool_version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()
package_version = re.search(r'^__version__ = "([^"]+)"', open("python/feature_density/__init__.py").read(), re.M).group(1)
if not version == tool_version == package_version:
    sys.exit(f"error: versions disagree: python/pyproject.toml {version}, feature_density.__version__ "
             f"{package_version}, `density --version` {tool_version}; make them agree")

symbols = "".join(subprocess.run(["objdump", "-T", path], capture_output=True, text=True, check=True).stdout
                  for path in binaries)
glibc = max((tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_(\d+\.\d+)", symbols)), default=(2, 17))
arch = platform.machine()
tag = f"py3-none-manylinux_{glibc[0]}_{glibc[1]}_{arch}"
name = f"feature_density-{version}"
os.makedirs("dist", exist_ok=True)
wheel_path = f"dist/{name}-{tag}.whl"

files = []  # (path in the wheel, bytes, mode)
for folder, package in (("python/feature_density", "feature_density"),):
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".py"):
            files.append((f"{package}/{entry}", open(os.path.join(folder, entry), "rb").read(), 0o644))
files.append(("feature_density_recorder.py", open("python/feature_density_recorder.py", "rb").read(), 0o644))
files += [(f"{name}.data/scripts/{os.path.basename(path)}", open(path, "rb").read(), 0o755) for path in binaries]
metadata = (f"Metadata-Version: 2.1\nName: feature_density\nVersion: {version}\nSummary: {summary}\n"
            "Requires-Python: >=3.9\nRequires-Dist: numpy\n"
            "Provides-Extra: torch\nRequires-Dist: torch; extra == \"torch\"\n"
            "Provides-Extra: torchmetrics\nRequires-Dist: torch; extra == \"torchmetrics\"\n"
            "Requires-Dist: torchmetrics; extra == \"torchmetrics\"\n"
            "Provides-Extra: saelens\nRequires-Dist: torch; extra == \"saelens\"\n"
            "Requires-Dist: sae-lens; extra == \"saelens\"\n").encode()
wheel = f"Wheel-Version: 1.0\nGenerator: scripts/build-wheel.sh\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()
info = f"{name}.dist-info"
files += [(f"{info}/METADATA", metadata, 0o644), (f"{info}/WHEEL", wheel, 0o644),
          (f"{info}/top_level.txt", b"feature_density\nfeature_density_recorder\n", 0o644)]

def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

record = "".join(f"{path},{digest(data)},{len(data)}\n" for path, data, _ in files) + f"{info}/RECORD,,\n"
files.append((f"{info}/RECORD", record.encode(), 0o644))
temporary = wheel_path + ".partial"
with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
    for path, data, mode in files:
        item = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
        item.external_attr = (0o100000 | mode) << 16
        item.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(item, data)
os.replace(temporary, wheel_path)
print(f"{wheel_path} ({os.path.getsize(wheel_path)} bytes)")
PYTHON
