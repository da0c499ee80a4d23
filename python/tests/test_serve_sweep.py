"""The server over several stores, and the sweep page in a real headless Chromium (Debian's
chromium and chromium-driver, through Selenium): sorting by a meta column, filtering, three runs
selected and overlaid, the overlays gaining a point when a checkpoint lands; two stores holding
the same run name and a store that cannot be read. Screenshots go to docs/ when
DENSITY_SCREENSHOTS is set."""

import json
import os
import shutil
import urllib.parse

import numpy as np
import pytest

from conftest import DENSITY, density
from serve_helpers import Server, wait_until
from test_serve_browser import browser, shot

By = pytest.importorskip("selenium.webdriver.common.by").By


def record(db, run, step, counts, vectors, folder):
    """Stores a checkpoint through the CLI, from an .npz as numpy saves it."""
    path = os.path.join(folder, f"{run}-{step}.npz")
    np.savez(path, neuron_fired_count=counts, num_activation_vectors=np.array(vectors, dtype=np.int64))
    density("checkpoint", run, "--step", str(step), path, "--db", db)


def sweep_store(db, folder, runs):
    """`runs`: name -> (features, meta, checkpoints); returns each run's latest counts."""
    rng = np.random.default_rng(5)
    latest = {}
    for name, (features, meta, checkpoints) in runs.items():
        density("create", name, "--features", str(features), "--meta", json.dumps(meta), "--db", db)
        counts = np.zeros(features, dtype=np.int64)
        for step in range(100, 100 * checkpoints + 1, 100):
            counts += rng.poisson(rng.uniform(0, 3, features)) * (np.arange(features) % 4 != 0)
            record(db, name, step, counts, step * 10, folder)
        latest[name] = counts
    return latest


def column(driver, label):
    """The texts of the table's column headed `label`, top to bottom (read in one go: the page
    redraws the table whenever a store changes)."""
    return driver.execute_script("""
        const heads = [...document.querySelectorAll('#runs thead th')].map(t => t.textContent.replace(/ [\\u25b2\\u25bc]$/, ''));
        const i = heads.indexOf(arguments[0]);
        return i < 0 ? null : [...document.querySelectorAll('#runs tbody tr')].map(r => r.children[i].textContent)""", label)


def series(driver, panel):
    """{run: points} of the lines drawn in an overlay panel."""
    return driver.execute_script("""
        return Object.fromEntries([...document.querySelectorAll('#' + arguments[0] + ' path.series')]
            .map(p => [p.dataset.run, Number(p.dataset.points)]))""", panel)


def click(driver, css):
    """Clicks the element `css` selects as it is now."""
    driver.execute_script("document.querySelector(arguments[0]).click()", css)


def text(driver, element):
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", element)


def test_the_sweep_page_sorts_filters_and_overlays_runs_live(tmp_path):
    db = str(tmp_path / "sweep.sqlite")
    latest = sweep_store(db, str(tmp_path), {
        "l1-a": (256, {"l1": 0.003, "seed": 1}, 4),
        "l1-b": (256, {"l1": 0.001, "seed": 2}, 4),
        "l1-c": (256, {"l1": 0.002, "seed": 3}, 4),
        "wide": (512, {"l1": 0.0005, "seed": 4}, 3),
    })
    server = Server(db)
    driver = browser()
    driver.set_window_size(1300, 900)
    try:
        driver.get(server.url + "/")
        assert wait_until(lambda: driver.execute_script("return document.querySelectorAll('#runs tbody tr').length") == 4)
        assert column(driver, "run") == ["l1-a", "l1-b", "l1-c", "wide"]
        # The meta fields are columns; the sweep's numbers are the API's.
        api = {r["name"]: r for r in server.json("/api/runs")}
        assert column(driver, "seed") == ["1", "2", "3", "4"]
        assert column(driver, "dead") == [str(api[n]["dead"]["count"]) for n in ["l1-a", "l1-b", "l1-c", "wide"]]
        assert api["l1-a"]["dead"]["count"] == int((latest["l1-a"] == 0).sum())
        assert column(driver, "checkpoints") == ["4", "4", "4", "3"]
        assert driver.execute_script("return document.querySelectorAll('#runs tbody svg.spark polyline.spark-dead').length") == 4

        # Sorting by a meta column: ascending, then descending on a second click.
        click(driver, "#runs th[data-key='meta.l1']")
        assert wait_until(lambda: column(driver, "run") == ["wide", "l1-b", "l1-c", "l1-a"]), column(driver, "run")
        click(driver, "#runs th[data-key='meta.l1']")
        assert wait_until(lambda: column(driver, "run") == ["l1-a", "l1-c", "l1-b", "wide"]), column(driver, "run")

        # Filtering: a column's value, then free text.
        box = driver.find_element(By.ID, "filter")
        box.send_keys("l1=0.001")
        assert wait_until(lambda: column(driver, "run") == ["l1-b"])
        box.clear()
        box.send_keys("l1-")
        assert wait_until(lambda: column(driver, "run") == ["l1-a", "l1-c", "l1-b"])
        shot(driver, "serve-sweep.png")

        # Three runs selected: three series in each overlay, a point per checkpoint.
        for name in ["l1-a", "l1-b", "l1-c"]:
            click(driver, f"#runs tbody tr[data-name='{name}'] input.pick")
        expected = {"l1-a": 4, "l1-b": 4, "l1-c": 4}
        assert wait_until(lambda: series(driver, "overlay-dead") == expected), series(driver, "overlay-dead")
        assert series(driver, "overlay-dense") == expected
        assert len(series(driver, "overlay-histogram")) == 3
        assert all(points == 50 for points in series(driver, "overlay-histogram").values())  # the stored 50 bins
        driver.find_element(By.ID, "feature").send_keys("5")
        driver.find_element(By.CSS_SELECTOR, "#trend-form button").click()
        assert wait_until(lambda: series(driver, "overlay-trend") == expected), series(driver, "overlay-trend")
        # Against vectors seen: the x axis ends at the latest vectors (4000).
        driver.find_element(By.CSS_SELECTOR, "input[name=x][value=vectors]").click()
        assert wait_until(lambda: "4000" in text(driver, "overlay-dead"))
        shot(driver, "serve-overlay.png")

        # A checkpoint lands (recorded by the CLI while the page is open): l1-b's series gain a point.
        driver.execute_script("window.notReloaded = true")
        record(db, "l1-b", 500, latest["l1-b"] + 1, 5000, str(tmp_path))
        grown = {"l1-a": 4, "l1-b": 5, "l1-c": 4}
        assert wait_until(lambda: series(driver, "overlay-dead") == grown), series(driver, "overlay-dead")
        assert wait_until(lambda: series(driver, "overlay-dense") == grown)
        assert wait_until(lambda: series(driver, "overlay-trend") == grown)
        assert "@500" in " ".join(series(driver, "overlay-histogram"))
        assert wait_until(lambda: column(driver, "checkpoints") == ["4", "4", "5"])  # still filtered, sorted l1 descending
        assert driver.execute_script("return window.notReloaded") is True

        # A run of another width is left out of the feature's trend, and said so.
        box.clear()
        box.send_keys(" ")
        assert wait_until(lambda: driver.execute_script("return document.querySelectorAll('#runs tbody tr').length") == 4)
        click(driver, "#runs tbody tr[data-name='wide'] input.pick")
        assert wait_until(lambda: len(series(driver, "overlay-dead")) == 4)
        assert wait_until(lambda: "other widths left out: wide" in text(driver, "trend-note"))
        assert len(series(driver, "overlay-trend")) == 3
    finally:
        driver.quit()
        server.stop()


def test_several_stores_a_name_clash_and_an_unreadable_store(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b, c, bad = (str(tmp_path / p) for p in ["a/s.sqlite", "b/s.sqlite", "c.sqlite", "bad.sqlite"])
    sweep_store(a, str(tmp_path), {"base": (128, {"l1": 0.001}, 3)})
    sweep_store(b, str(tmp_path), {"base": (128, {"l1": 0.002}, 5)})
    sweep_store(c, str(tmp_path), {"other": (64, {"l1": 0.004}, 2)})
    with open(c, "rb") as source, open(bad, "wb") as half:
        half.write(source.read(4096))  # a store mid-copy
    server = Server(str(tmp_path / "*" / "s.sqlite"), "--db", c, "--db", bad, binary=[DENSITY, "serve"])
    driver = browser()
    try:
        runs = server.json("/api/runs")
        assert [r["name"] for r in runs] == [f"base@{a}", f"base@{b}", "other"]
        assert [r["checkpoints"] for r in runs] == [3, 5, 2]
        # The same rows as `density runs` over the same stores (which warns of the unreadable one).
        cli = json.loads(density("runs", "--db", a, "--db", b, "--db", c, "--db", bad, "--format", "json").stdout)
        assert [(r["name"], r["dead"], r["trail"]) for r in cli] == [(r["name"], r["dead"], r["trail"]) for r in runs]

        stores = server.json("/api/stores")
        assert [s["readable"] for s in stores] == [True, True, True, False]
        assert stores[3]["path"] == bad and "not a readable SQLite database" in stores[3]["error"]

        # A clashing name alone is 404 naming the spellings that pick one; each spelling answers its store.
        status, _, body = server.get("/api/runs/base/show")
        assert status == 404 and f"'base@{a}', 'base@{b}'" in json.loads(body)["error"]
        quoted = lambda name: urllib.parse.quote(name, safe="")
        assert server.json(f"/api/runs/{quoted('base@' + b)}/show")["step"] == 500
        assert server.json(f"/api/runs/{quoted('base@' + a)}/show")["step"] == 300
        assert len(server.json(f"/api/runs/{quoted('base@' + a)}/summaries")["step"]) == 3
        assert server.json("/api/runs/other/show")["step"] == 200
        status, _, body = server.get("/api/runs/nowhere/show")
        assert status == 404 and "no run 'nowhere' in the 4 stores served" in json.loads(body)["error"]
        status, _, page = server.get(f"/runs/{quoted('base@' + b)}")
        assert status == 200 and json.dumps("base@" + b) in page

        # The page lists every readable store's runs and names the one skipped.
        driver.get(server.url + "/")
        assert wait_until(lambda: driver.execute_script("return document.querySelectorAll('#runs tbody tr').length") == 3)
        assert column(driver, "run") == [f"base@{a}", f"base@{b}", "other"]
        assert "skipped 1 of 4 stores" in text(driver, "skipped")
        assert "bad.sqlite" in text(driver, "skipped")

        # The copy completes: the store is served without a restart, and its run clashes with c's.
        driver.execute_script("window.notReloaded = true")
        shutil.copyfile(c, bad + ".part")
        os.replace(bad + ".part", bad)
        assert wait_until(lambda: driver.execute_script("return document.querySelectorAll('#runs tbody tr').length") == 4, timeout=30)
        assert column(driver, "run") == [f"base@{a}", f"base@{b}", "other@bad.sqlite", "other@c.sqlite"]
        assert text(driver, "skipped") == "4 stores"
        assert driver.execute_script("return window.notReloaded") is True
    finally:
        driver.quit()
        server.stop()
