"""Headless chromium for the browser tests (Debian's chromium + chromium-driver, selenium)."""

from __future__ import annotations

import os
import shutil

import pytest


def chrome(width: int = 1280, height: int = 1400):
    """A headless Chrome driver, or a skip naming what to install (.ci/run installs both)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("MEDTRUST_REQUIRE_BROWSER"):  # .ci/run installs them, so CI must not skip
            pytest.fail("chromium / chromedriver are missing although MEDTRUST_REQUIRE_BROWSER is set")
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver "
                    "(.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
