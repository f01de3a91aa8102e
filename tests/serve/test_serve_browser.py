"""The page in a real browser: headless Debian Chromium driven by Selenium, against a real server.

Drop a file -> type a query -> Extract -> three players and three spectrograms (labelled axes) appear; then a
bundled example with an audio-example query; then a garbage file gives a readable error. Saves a screenshot
(``TQSE_SCREENSHOT=docs/serve.png`` writes it there too). Then the microphone: Chromium's fake capture device
(a beeping tone) is recorded in the page, stopped by hand and at the server's duration limit, and the WAV the
page encoded is decoded here and by the server; a denied permission and a page that is not on localhost or
https give readable messages. Skips only when chromium, chromedriver or selenium is missing; CI installs them
(.ci/run), so it runs there.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
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


# A fake microphone (a beeping tone) whose permission prompt answers itself (yes, or no with "=deny").
MIC_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
MIC_DENIED_FLAGS = ["--use-fake-ui-for-media-stream=deny", "--use-fake-device-for-media-stream",
                    # a host name that is neither localhost nor https, resolved to the loopback server, so
                    # the page runs outside a secure context
                    "--host-resolver-rules=MAP insecure.test 127.0.0.1"]


def launch(tmp_path, extra_flags=()):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS + list(extra_flags) + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = launch(tmp_path)
    yield driver
    driver.quit()


@pytest.fixture
def mic_browser(tmp_path):
    driver = launch(tmp_path, MIC_FLAGS)
    yield driver
    driver.quit()


@pytest.fixture
def mic_denied_browser(tmp_path):
    driver = launch(tmp_path, MIC_DENIED_FLAGS)
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



RECORDED_WAV = """
const done = arguments[arguments.length - 1];
const reader = new FileReader();
reader.onload = () => done(reader.result.split(',')[1]);
reader.readAsDataURL(state.mixtureFile);
"""


def record_label(driver) -> tuple[float, int]:
    """The page's "recording: 1.2 s at 48000 Hz" -> (seconds, rate)."""
    text = driver.find_element("id", "mixture-name").text
    match = re.search(r"recording: ([0-9.]+) s at (\d+) Hz", text)
    assert match, text
    return float(match[1]), int(match[2])


def recorded_wav(driver) -> tuple[np.ndarray, int, str]:
    """The WAV the page encoded and will upload, decoded by soundfile."""
    data = base64.b64decode(driver.execute_async_script(RECORDED_WAV))
    info = sf.info(io.BytesIO(data))
    wav, rate = sf.read(io.BytesIO(data), dtype="float32")
    return wav, rate, info.subtype


def clock_seconds(driver) -> float:
    match = re.search(r"(\d+):([0-9.]+) /", driver.find_element("id", "record-time").text)
    return 60 * int(match[1]) + float(match[2]) if match else 0.0


def test_record_from_microphone_then_extract(mic_browser, tiny_model):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = mic_browser
    server = start(tiny_model, max_upload_mb=8, max_seconds=2.5)
    try:
        browser.get(server.url)
        wait_for(browser, "return document.getElementById('model-info').textContent.includes('tiny')", 30)
        record = browser.find_element(By.ID, "record-button")
        assert record.is_enabled() and "Record" in record.text

        # Record by hand: the button turns into Stop, the clock runs, Extract waits until it is stopped.
        record.click()
        wait_for(browser, "return document.getElementById('record-button').textContent.includes('Stop')", 30)
        assert not browser.find_element(By.ID, "extract-button").is_enabled()
        WebDriverWait(browser, 30, poll_frequency=0.1).until(lambda d: clock_seconds(d) >= 0.8)
        record.click()
        wait_for(browser, "return document.getElementById('mixture-name').textContent.includes('recording:')", 30)
        assert "Record" in record.text and browser.find_element(By.ID, "extract-button").is_enabled()
        seconds, rate = record_label(browser)
        wav, wav_rate, subtype = recorded_wav(browser)
        assert (wav_rate, subtype, wav.ndim) == (rate, "PCM_16", 1)
        assert abs(wav.shape[0] / rate - seconds) < 0.05 and 0.8 <= seconds < 2.5
        assert np.abs(wav).max() > 0.01, "the fake microphone's tone did not arrive"

        # The recording takes the upload path: the server decodes it to the same length and rate.
        browser.find_element(By.ID, "text-query").send_keys("a beep")
        browser.find_element(By.ID, "extract-button").click()
        wait_for(browser, RESULTS_READY)
        summary = browser.find_element(By.ID, "result-summary").text
        assert f"{rate} Hz, 1 channel(s)" in summary
        mixture_url = browser.find_element(By.ID, "player-mixture").get_attribute("src")
        with urllib.request.urlopen(mixture_url, timeout=30) as reply:
            served, served_rate = sf.read(io.BytesIO(reply.read()), dtype="float32")
        assert served_rate == rate and served.shape[0] == wav.shape[0]

        # Left running, a recording stops itself at the server's duration limit, exactly.
        record.click()
        wait_for(browser, "return document.getElementById('record-time').textContent.includes(\"server's limit\")", 30)
        wav, wav_rate, _ = recorded_wav(browser)
        assert wav.shape[0] == int(2.5 * wav_rate) and record_label(browser)[0] == 2.5
        assert "Record" in record.text
        assert "no microphone found" in browser.execute_script(  # the message table, for the missing-device case
            "return micErrorMessage(new DOMException('none', 'NotFoundError'))")
    finally:
        stop(server)


def test_recording_refused_permission_or_insecure_page_says_why(mic_denied_browser, tiny_model):
    from selenium.webdriver.common.by import By

    browser = mic_denied_browser
    server = start(tiny_model)
    try:
        browser.get(server.url)
        record = browser.find_element(By.ID, "record-button")
        record.click()  # the browser says no
        wait_for(browser, "return document.getElementById('status').classList.contains('error')", 30)
        assert "permission denied" in browser.find_element(By.ID, "status").text
        assert "Record" in record.text and record.is_enabled()
        assert browser.find_element(By.ID, "extract-button").is_enabled()

        # http on a host name other than localhost: no microphone API at all, so the button is off and says why.
        browser.get(server.url.replace("127.0.0.1", "insecure.test"))
        wait_for(browser, "return document.getElementById('record-time').textContent.length > 0", 30)
        assert not browser.find_element(By.ID, "record-button").is_enabled()
        assert "localhost or https" in browser.find_element(By.ID, "record-time").text
    finally:
        stop(server)


def test_typing_a_query_shows_what_it_was_understood_as(browser, tmp_path):
    """Issue 23.2 on the page itself: as one types, the line under the query names the nearest known sounds;
    a far query turns it into the warning (styled as one); a finished job repeats it beside the result. A tiny
    random separator over the real built-in encoder: the description depends on the encoder only."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tqse.workflows.bench import random_model_dir

    model = random_model_dir(tmp_path / "tinybuiltin", encoder={"name": "builtin", "path": None, "kwargs": {}},
                             query_dim=512)
    server = start(model)
    understood = "return document.getElementById('understood').textContent"
    try:
        browser.get(server.url)
        wait_for(browser, "return document.querySelectorAll('#example-select option').length > 1", 30)
        query = browser.find_element(By.ID, "text-query")
        query.send_keys("a barking hound")
        wait_for(browser, understood + ".startsWith('understood as: dog ')", 30)
        assert "error" not in browser.find_element(By.ID, "understood").get_attribute("class")

        query.clear()
        query.send_keys("my tax return for last year")
        wait_for(browser, understood + ".startsWith('⚠')", 30)
        line = browser.find_element(By.ID, "understood")
        assert "far from every sound" in line.text and "error" in line.get_attribute("class")

        Select(browser.find_element(By.ID, "example-select")).select_by_value("bell-piano")
        browser.find_element(By.ID, "extract-button").click()
        wait_for(browser, RESULTS_READY)
        assert "far from every sound" in browser.find_element(By.ID, "result-understood").text
    finally:
        stop(server)
