"""`factory view` in a real browser: headless Chromium (Debian's chromium + chromedriver) driven by Selenium.

Each page loads with no console errors; the SQL console shows the first page of a filtered
query over 1M rows within 2 s; the rollout viewer shows reasoning and verdict; writes and
reads outside the store are refused in the page. Screenshots go to the folder printed.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver (`make install` installs them)")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view-screenshots")
    print(f"\nscreenshots of factory view: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must never download a driver
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _wait(driver, css: str, timeout: float = 20.0, text: str | None = None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    cond = (ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text) if text is not None
            else ec.presence_of_element_located((By.CSS_SELECTOR, css)))
    WebDriverWait(driver, timeout, poll_frequency=0.02).until(cond)
    return driver.find_element(By.CSS_SELECTOR, css)


def test_every_page_loads_without_console_errors(server, browser, shots):
    base, snaps = server
    pages = {"snapshots": "/", "snapshot": f"/s/{snaps['sft'].ref}", "lineage": f"/lineage/{snaps['report'].ref}",
             "sql": "/sql", "plots": "/plots", "rollouts": f"/rollouts/{snaps['rollouts'].ref}?mode=group",
             "difficulty": f"/s/{snaps['difficulty'].ref}", "grpo": f"/s/{snaps['grpo'].ref}"}
    for name, path in pages.items():
        browser.get(base + path)
        _wait(browser, "main h1")
        browser.execute_script("return document.fonts.ready")
        assert browser.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)"), name
        browser.save_screenshot(str(shots / f"{name}.png"))
        assert _errors(browser) == [], name
    browser.get(base + "/s/no-such-snapshot")
    assert "no-such-snapshot" in _wait(browser, "#error-message").text
    browser.save_screenshot(str(shots / "not-found.png"))
    browser.get_log("browser")  # the 404 is logged on purpose; later tests start with an empty log


def test_lineage_nodes_are_links(server, browser):
    from selenium.webdriver.common.by import By

    base, snaps = server
    browser.get(f"{base}/lineage/{snaps['report'].ref}")
    links = browser.find_elements(By.CSS_SELECTOR, "#lineage-graph a")
    target = next(a for a in links if (a.get_dom_attribute("href") or "").endswith(f"/s/{snaps['rollouts'].ref}"))
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", target)
    assert snaps["rollouts"].ref in _wait(browser, "#snapshot-ref", text=snaps["rollouts"].ref).text


def test_sql_console_shows_the_first_page_of_a_1m_row_query_within_2s(server, browser, shots):
    base, snaps = server
    assert snaps["rollouts"].num_rows == 1_000_000
    browser.get(base + "/sql")
    box = _wait(browser, "#sql")
    box.clear()
    box.send_keys("select problem_id, sample_idx, verdict, domain, completion_tokens from rollouts "
                  "where verdict = 'wrong' and domain = 'code' and completion_tokens > 500")
    t0 = time.perf_counter()
    browser.find_element("id", "run").click()
    _wait(browser, "#status[data-state='done']")
    elapsed = time.perf_counter() - t0
    rows = browser.find_elements("css selector", "#results tbody tr")
    assert len(rows) == 50 and "wrong" in rows[0].text and elapsed < 2.0, elapsed
    browser.find_element("id", "next").click()
    _wait(browser, "#status", text="rows 51–100")
    browser.save_screenshot(str(shots / "sql-1m.png"))
    assert _errors(browser) == []


@pytest.mark.parametrize("sql, message", [
    ("drop table snapshots", "only SELECT"),
    ("copy (select 1) to '/tmp/factory-view-escape.csv'", "only SELECT"),
    ("select * from read_csv('/etc/passwd')", "disabled"),
    ("select frm where", "Parser Error"),
])
def test_sql_console_refuses_writes_and_outside_reads_in_the_page(server, browser, shots, sql, message):
    base, _ = server
    browser.get(base + "/sql")
    box = _wait(browser, "#sql")
    box.clear()
    box.send_keys(sql)
    browser.find_element("id", "run").click()
    _wait(browser, "#status[data-state='error']")
    assert message in browser.find_element("id", "error").text
    assert not Path("/tmp/factory-view-escape.csv").exists()
    if message == "disabled":
        browser.save_screenshot(str(shots / "sql-refused.png"))


def test_rollout_viewer_shows_reasoning_verdict_and_rendered_latex(server, browser, shots):
    base, snaps = server
    browser.get(f"{base}/rollouts/{snaps['rollouts'].ref}?verdict=wrong")
    sample = _wait(browser, "article.sample")
    assert sample.find_element("css selector", ".verdict").text == "wrong"
    assert "rejected: wrong" in sample.text
    assert sample.find_element("css selector", ".reasoning").text.strip()
    assert sample.find_elements("css selector", ".answer .katex"), "the boxed answer is rendered by KaTeX"
    browser.save_screenshot(str(shots / "rollout-row.png"))
    assert _errors(browser) == []


def test_copy_screenshots_for_the_readme(shots):
    """With FACTORY_VIEW_SCREENSHOTS=DIR the screenshots are also copied there (how docs/screenshots is made)."""
    target = os.environ.get("FACTORY_VIEW_SCREENSHOTS")
    names = sorted(p.name for p in shots.glob("*.png"))
    assert {"snapshots.png", "sql-1m.png", "rollout-row.png", "lineage.png"} <= set(names)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(shots / name, Path(target) / name)
