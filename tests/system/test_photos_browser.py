"""A person in a browser: sign up, upload a photo, see it on the timeline.

Headless Chromium (Debian's, driven through its chromedriver by Selenium)
against the single-server topology started by the real CLI.
"""

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Cli

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "single-server.toml"
WAIT_S = 20


@pytest.fixture
def browser(tmp_path):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium, "run 'make browser' to install chromium"
    assert driver, "run 'make browser' to install chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # we run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",  # the machine's network is closed
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    with webdriver.Chrome(options=options, service=Service(driver)) as chrome:
        yield chrome


def test_sign_up_upload_and_see_the_photo_on_the_timeline(cli: Cli, browser, tmp_path):
    assert cli.run("up", str(TOPOLOGY), "--detach").returncode == 0
    base = f"http://{cli.process('web')['address']}"
    picture = tmp_path / "beach.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 144, 255)).save(buffer, "JPEG")
    picture.write_bytes(buffer.getvalue())
    wait = WebDriverWait(browser, WAIT_S)

    browser.get(f"{base}/signup")
    browser.find_element(By.ID, "username").send_keys("browser_user")
    browser.find_element(By.ID, "password").send_keys("a long enough password")
    browser.find_element(By.ID, "auth-submit").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "timeline")))

    browser.find_element(By.ID, "nav-upload").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "upload-form")))
    browser.find_element(By.ID, "file").send_keys(str(picture))
    browser.find_element(By.ID, "caption").send_keys("a day at the beach")
    browser.find_element(By.ID, "upload-submit").click()
    wait.until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#timeline .photo"))
    )

    photo = browser.find_element(By.CSS_SELECTOR, "#timeline .photo")
    assert "a day at the beach" in photo.text
    assert "browser_user" in photo.text
    image = photo.find_element(By.TAG_NAME, "img")
    loaded = browser.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth", image
    )
    assert loaded == 320  # the thumbnail, decoded by the browser
