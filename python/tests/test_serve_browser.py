"""The run page in a real headless Chromium (Debian's chromium and chromium-driver, through
Selenium): a typed feature draws its trend, a new checkpoint shows without reloading, and the
page's live updates come back after the stream was refused (503) or dropped (server restarted).
Screenshots go to docs/ when DENSITY_SCREENSHOTS is set."""

import json
import os
import shutil

import numpy as np
import pytest

import feature_density as fd
from conftest import REPO, density
from serve_helpers import Server, open_stream, status_of, wait_until

webdriver = pytest.importorskip("selenium.webdriver")
if not shutil.which("chromedriver") or not (shutil.which("chromium") or shutil.which("chromium-browser")):
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)
from selenium.webdriver.common.by import By  # noqa: E402


def browser():
    options = webdriver.ChromeOptions()
    options.add_argument("--headless=new")
    options.add_argument("--no-sandbox")
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--window-size=1100,400")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))


def test_the_page_draws_a_trend_and_a_new_checkpoint_live(tmp_path):
    db = str(tmp_path / "live.sqlite")
    density("demo", "--db", db, "--features", "512", "--checkpoints", "16", "--every", "100", "--run", "demo")
    fd.Store(db).create("live", features=256)
    rng = np.random.default_rng(11)
    counts = np.zeros(256, dtype=np.int64)
    recorder = fd.DensityRecorder("live", db=db)
    for step in range(100, 1100, 100):
        counts += rng.poisson(rng.uniform(0, 30, 256))
        recorder.record(step, counts, step * 10)
    server = Server(db)
    driver = browser()
    try:
        assert wait_until(lambda: server.json("/api/runs/live/show").get("step") == 1000)
        driver.get(server.url + "/")
        assert wait_until(lambda: "live" in driver.find_element(By.ID, "runs").text)
        shot(driver, "serve-runs.png")
        driver.get(server.url + "/runs/live")
        assert wait_until(lambda: driver.find_element(By.ID, "step").text == "1000")
        assert wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#panels svg[data-panel=heatmap]"))

        # Type a feature: its trend is drawn, one polyline vertex per checkpoint.
        box = driver.find_element(By.ID, "feature")
        box.send_keys("42")
        driver.find_element(By.CSS_SELECTOR, "#trend-form button").click()
        expected = server.json("/api/runs/live/trend?feature=42")["points"]
        line = lambda: driver.find_elements(By.CSS_SELECTOR, "#trend svg polyline[data-series=density]")
        assert wait_until(line)
        vertices = line()[0].get_attribute("points").split()
        assert len(vertices) == len(expected) == 10
        assert line()[0].get_attribute("data-steps").split() == [str(p["step"]) for p in expected]

        # Click a histogram bar: its features are listed, as many as the bar counts.
        bars = driver.find_elements(By.CSS_SELECTOR, "#panels svg[data-panel=histogram] rect.bar")
        bar = max(bars, key=lambda b: int(b.get_attribute("data-count")))
        count = int(bar.get_attribute("data-count"))
        driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", bar)
        assert wait_until(lambda: f": {count} features" in driver.find_element(By.ID, "bin-title").text)
        assert len(driver.find_elements(By.CSS_SELECTOR, "#bin-list a.feature")) == min(count, 100)
        shot(driver, "serve-run.png")

        # A new checkpoint lands: the page shows it without a reload, trend included.
        driver.execute_script("window.notReloaded = true")
        counts += 5
        recorder.record(1100, counts, 11000)
        assert wait_until(lambda: driver.find_element(By.ID, "step").text == "1100")
        assert wait_until(lambda: len(line()) == 1 and len(line()[0].get_attribute("points").split()) == 11)
        assert wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#panels svg[data-panel=histogram][data-step='1100']"))
        assert driver.execute_script("return window.notReloaded") is True
    finally:
        recorder.close()
        driver.quit()
        server.stop()


def test_the_page_recovers_after_a_refused_or_dropped_stream(tmp_path):
    db = str(tmp_path / "retry.sqlite")
    fd.Store(db).create("live", features=64)
    counts = np.zeros(64, dtype=np.int64)
    recorder = fd.DensityRecorder("live", db=db)
    counts += 1
    recorder.record(100, counts, 1000)
    server = Server(db)
    driver = browser()
    live = lambda: driver.find_element(By.ID, "live").text
    step = lambda: driver.find_element(By.ID, "step").text
    try:
        assert wait_until(lambda: server.json("/api/runs/live/show").get("step") == 100)
        # Every stream slot taken: the page's stream is refused with 503, and it says it will retry.
        held = [open_stream(server.port) for _ in range(32)]
        assert all(status_of(received) == 200 for _, received in held)
        driver.get(server.url + "/runs/live")
        assert wait_until(lambda: step() == "100")
        assert wait_until(lambda: live().startswith("offline, retrying"), timeout=10), live()
        for s, _ in held:
            s.close()
        assert wait_until(lambda: live() == "live", timeout=40), live()
        driver.execute_script("window.notReloaded = true")
        counts += 2
        recorder.record(200, counts, 2000)
        assert wait_until(lambda: step() == "200")

        # The server goes away and comes back on the same port: the page follows again.
        port = server.port
        server.stop()
        assert wait_until(lambda: live() != "live", timeout=20), live()
        server = Server(db, port=port)
        assert wait_until(lambda: live() == "live", timeout=40), live()
        counts += 3
        recorder.record(300, counts, 3000)
        assert wait_until(lambda: step() == "300")
        assert driver.execute_script("return window.notReloaded") is True
    finally:
        recorder.close()
        driver.quit()
        server.stop()


def shot(driver, name):
    """Saves the whole page as docs/NAME when DENSITY_SCREENSHOTS is set."""
    if os.environ.get("DENSITY_SCREENSHOTS"):
        os.makedirs(os.path.join(REPO, "docs"), exist_ok=True)
        size = driver.get_window_size()
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], height + 160)
        driver.save_screenshot(os.path.join(REPO, "docs", name))
        driver.set_window_size(size["width"], size["height"])
