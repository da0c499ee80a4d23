#!/usr/bin/env python3
"""Screenshots for the README, in headless Chromium: TensorBoard's histogram view of the demo run
backfilled by feature_density.tensorboard (docs/tensorboard.png), and the example notebook
executed with nbclient and exported by nbconvert (docs/notebook.png).

    DENSITY_BIN=.build/debug/density ~/.cache/density-venv/bin/python scripts/screenshot-destinations.py

Needs, in the Python environment: tensorboard, torch, selenium, nbclient, nbconvert, ipykernel,
matplotlib, pandas; and Debian's chromium and chromium-driver.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import nbclient  # noqa: E402
import nbformat  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402
from selenium import webdriver  # noqa: E402

from feature_density import find_density, tensorboard  # noqa: E402


def browser(width: int, height: int):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
                     f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tensorboard_shot(work: str, out: str) -> None:
    logdir = os.path.join(work, "tb")
    tensorboard.write(os.path.join(work, "demo.sqlite"), "demo", os.path.join(logdir, "demo"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--port", str(port),
                               "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        driver = browser(1200, 900)
        try:
            driver.get(f"http://127.0.0.1:{port}/?darkMode=false#histograms")
            time.sleep(15)                                   # the dashboard loads and draws
            driver.save_screenshot(out)
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait()


def notebook_shot(work: str, out: str) -> None:
    shutil.copy(os.path.join(ROOT, "examples", "notebook.ipynb"), work)
    os.environ["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "python"), os.environ.get("PYTHONPATH", "")])
    notebook = nbformat.read(os.path.join(work, "notebook.ipynb"), as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": work}}).execute()
    body, _ = HTMLExporter().from_notebook_node(notebook)
    page = os.path.join(work, "notebook.html")
    with open(page, "w", encoding="utf-8") as file:
        file.write(body)
    driver = browser(1100, 1500)
    try:
        driver.get("file://" + page)
        time.sleep(2)
        driver.save_screenshot(out)
    finally:
        driver.quit()


def main() -> None:
    docs = os.path.join(ROOT, "docs")
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([find_density(), "demo", "--db", os.path.join(work, "demo.sqlite")], check=True,
                       capture_output=True)
        tensorboard_shot(work, os.path.join(docs, "tensorboard.png"))
        notebook_shot(work, os.path.join(docs, "notebook.png"))
    print("wrote docs/tensorboard.png and docs/notebook.png")


if __name__ == "__main__":
    main()
