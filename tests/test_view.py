"""`medtrust view` end to end in a real headless browser (Debian's chromium + chromedriver, driven
by selenium): the list of runs -> a run's report -> two runs compared, with paired differences;
a running run's progress updates live; nothing outside the runs folder is served."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from browser import chrome
from medtrust.view.runs import compare, list_runs
from medtrust.view.server import serve


@pytest.fixture
def runs(local_model, tmp_path, cli):
    """Two finished generate runs on the same 4 questions (different answers)."""
    server = local_model
    root = tmp_path / "runs"
    for text in ("A short answer.", "A much longer answer than the first one."):
        server.text = text
        code, _, err = cli("generate", "-m", "openai-api/local/m", "-d", "demo-qa", "--limit", "4", "--no-cache",
                           "--runs-dir", str(root), "-q")
        assert code == 0, err
        time.sleep(1.1)  # run folder names carry the second
    return root


def wait_for(fn, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    return fn()


def test_list_report_compare_and_live_progress_in_a_browser(runs, tmp_path):
    server = serve(runs, 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    driver = chrome()
    try:
        driver.get(base + "/")
        rows = wait_for(lambda: driver.find_elements("css selector", "#runs tbody tr"))
        assert len(rows) == 2 and all("generate" in r.text and "complete" in r.text for r in rows)
        driver.save_screenshot(str(tmp_path / "view-list.png"))
        driver.find_element("id", "filter").send_keys("no such run")
        assert wait_for(lambda: not driver.find_elements("css selector", "#runs tbody tr"))
        driver.find_element("id", "filter").clear()
        driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
        rows = wait_for(lambda: driver.find_elements("css selector", "#runs tbody tr"))
        rows[0].find_element("css selector", "a.report").click()
        assert wait_for(lambda: "Findings" in driver.page_source) and "medtrust Generation" in driver.title
        driver.back()
        boxes = wait_for(lambda: driver.find_elements("css selector", "#runs tbody input[type=checkbox]"))
        assert driver.find_element("id", "compare").get_attribute("disabled")
        for box in boxes:
            box.click()
        assert not driver.find_element("id", "compare").get_attribute("disabled")
        driver.find_element("id", "compare").click()
        assert wait_for(lambda: driver.find_elements("css selector", "#metrics tbody tr"))
        assert "2 runs side by side" in driver.page_source
        driver.save_screenshot(str(tmp_path / "view-compare.png"))
        # a run that is still being written: its progress updates without a reload
        running = runs / "20991231T000000Z_generate_live_000000"
        running.mkdir()
        (running / "config.yaml").write_text("study: generate\nmodel: embedded\ndataset: demo-qa\n")
        (running / "results.json").write_text(json.dumps({"study": "generate", "status": "running", "n": 0,
                                                          "expected": 5}))
        (running / "samples.jsonl").write_text('{"id": "a"}\n')
        driver.get(base + "/")

        def progress() -> str:  # read in one step: the page redraws its rows when the runs change
            return driver.execute_script("const c = document.querySelector(arguments[0]); "
                                         "return c ? c.textContent : '';",
                                         f"tr[data-name='{running.name}'] td.progress")
        assert "1 of 5" in wait_for(progress)
        (running / "samples.jsonl").write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n')
        assert wait_for(lambda: "3 of 5" in progress(), timeout=8)
    finally:
        driver.quit()
        server.shutdown()


def test_compare_pairs_the_shared_samples_and_nothing_outside_is_served(runs):
    names = [r["name"] for r in list_runs(runs)][::-1]
    result = compare(runs, names)
    assert result["study"] == "generate" and result["runs"] == names
    assert any(r["metric"] == "samples" and r["values"] == ["4", "4"] for r in result["rows"])
    server = serve(runs, 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for path in ("/runs/../../etc/passwd", "/runs/%2e%2e/%2e%2e/etc/passwd", "/nope"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + path)
            assert err.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "/compare?runs=" + names[0])
        assert err.value.code == 400
        data = json.loads(urllib.request.urlopen(base + "/api/runs").read())
        assert [r["status"] for r in data["runs"]] == ["complete", "complete"]
    finally:
        server.shutdown()


def test_paired_differences_over_the_shared_samples(tmp_path):
    import numpy as np

    from medtrust.stats import bootstrap_ci
    a = [True, False, True, False, False, True]
    b = [True, True, True, False, True, True, True]  # one more sample than the baseline: not shared
    for name, flags in (("20260101T000000Z_reasoning_a_000001", a), ("20260101T000001Z_reasoning_b_000002", b)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.yaml").write_text("study: reasoning\n")
        (folder / "results.json").write_text(json.dumps({"study": "reasoning", "status": "complete", "metrics": {}}))
        (folder / "samples.jsonl").write_text("".join(json.dumps({"id": f"q{i}::cot", "scores": {"correct": f}})
                                                      + "\n" for i, f in enumerate(flags)))
    result = compare(tmp_path, sorted(p.name for p in tmp_path.iterdir()))
    (p,) = result["paired"]
    x, y = np.array(a, float), np.array(b[:6], float)
    assert p["score"] == "correct" and p["difference"]["n"] == 6 and result["shared"] == 6
    assert p["difference"]["value"] == pytest.approx(2 / 6) and (p["baseline_mean"], p["mean"]) == (0.5, 5 / 6)
    assert p["difference"]["ci"] == list(bootstrap_ci([x, y], lambda u, v: float((v - u).mean())))


def test_the_view_command_serves_and_stops_on_ctrl_c(runs):
    import re
    import signal
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, "-m", "medtrust", "view", str(runs), "--port", "0", "--no-browser"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = p.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        data = json.loads(urllib.request.urlopen(url + "api/runs", timeout=10).read())
        assert len(data["runs"]) == 2
    finally:
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
    assert p.returncode == 0 and "medtrust view stopped." in out  # Ctrl-C is how a viewer is stopped
    bad = subprocess.run([sys.executable, "-m", "medtrust", "view", str(runs / "none"), "--no-browser"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "is not a folder" in bad.stderr
