"""The page in a real browser: headless Debian Chromium driven by Selenium, against a real server.

Drop a file -> type a query -> Extract -> three players and three spectrograms (labelled axes) appear; then a
bundled example with an audio-example query; then a garbage file gives a readable error. Saves a screenshot
(``TQSE_SCREENSHOT=docs/serve.png`` writes it there too). Skips only when chromium, chromedriver or selenium
is missing; CI installs them (.ci/run), so it runs there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from serve_helpers import start

from tqse.serve import examples
from tqse.serve.server import stop

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# The network is closed: without these, Chromium floods the log with refused background connections.
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1500,1000", "--autoplay-policy=no-user-gesture-required"]
DROP_FILE = """
const input = document.createElement('input');
input.type = 'file'; input.id = 'test-drop-source'; input.style.position = 'fixed'; input.style.top = '0';
document.body.append(input);
"""
DISPATCH_DROP = """
const file = document.getElementById('test-drop-source').files[0];
const data = new DataTransfer(); data.items.add(file);
const zone = document.getElementById('drop-zone');
zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
document.getElementById('test-drop-source').remove();
"""


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, script: str, timeout: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: d.execute_script(script))


def drop(driver, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.execute_script(DROP_FILE)
    driver.find_element(By.ID, "test-drop-source").send_keys(str(path))
    driver.execute_script(DISPATCH_DROP)


RESULTS_READY = """
const imgs = [...document.querySelectorAll('#results img.spectrogram')];
const players = [...document.querySelectorAll('#results audio')];
return !document.getElementById('results').hidden && imgs.length === 3 && players.length === 3
  && imgs.every(i => i.complete && i.naturalWidth > 0) && players.every(a => a.readyState >= 1 && a.duration > 0);
"""


def test_upload_query_extract_shows_players_and_spectrograms(browser, tiny_model, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    mixture, rate = examples.mixture_audio("bell-piano")
    import soundfile as sf

    upload = tmp_path / "my recording.wav"
    sf.write(upload, mixture, rate)
    server = start(tiny_model, max_upload_mb=8)
    try:
        browser.get(server.url)
        wait_for(browser, "return document.getElementById('model-info').textContent.includes('tiny')", 30)
        wait_for(browser, "return document.querySelectorAll('#example-select option').length > 1", 30)

        drop(browser, upload)  # the page's drag-and-drop handler
        assert "my recording.wav" in browser.find_element(By.ID, "mixture-name").text
        browser.find_element(By.ID, "text-query").send_keys("a bell rings")
        browser.find_element(By.ID, "extract-button").click()
        wait_for(browser, RESULTS_READY)

        labels = browser.execute_script(
            "return [...document.querySelectorAll('#results figure.spec')].map(f => f.textContent)")
        assert len(labels) == 3 and all("Frequency (kHz" in t and "Time (s)" in t for t in labels)
        assert "dB" in browser.find_element(By.ID, "db-max").text
        links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#results a.download")]
        assert len(links) == 3 and all("/wav/" in link for link in links)
        assert "a bell rings" in browser.find_element(By.ID, "result-summary").text
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the whole page in one screenshot
                                {"width": 1500, "height": height, "deviceScaleFactor": 1, "mobile": False})
        shot = tmp_path / "serve.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("TQSE_SCREENSHOT"):
            shutil.copy(shot, os.environ["TQSE_SCREENSHOT"])

        # A bundled example, queried by an audio example.
        Select(browser.find_element(By.ID, "example-select")).select_by_value("guitar-choir")
        browser.find_element(By.CSS_SELECTOR, "input[name=query-kind][value=audio]").click()
        Select(browser.find_element(By.ID, "query-example-select")).select_by_value("guitar")
        browser.find_element(By.ID, "extract-button").click()
        wait_for(browser, "return document.getElementById('result-summary').textContent.includes('audio example')")
        wait_for(browser, RESULTS_READY)

        # Garbage bytes: a readable error on the page, no crash.
        garbage = tmp_path / "fake.wav"
        garbage.write_bytes(b"this is not audio" * 50)
        browser.find_element(By.CSS_SELECTOR, "input[name=query-kind][value=text]").click()
        browser.find_element(By.ID, "mixture-file").send_keys(str(garbage))
        browser.find_element(By.ID, "extract-button").click()
        wait_for(browser, "return document.getElementById('status').classList.contains('error')", 30)
        assert "decode" in browser.find_element(By.ID, "status").text
    finally:
        stop(server)

