"""The report in a real headless browser (Debian's chromium + chromedriver, driven by selenium):
records holding hostile strings (from the data and from the model's output) are all shown by the
sample browser, and none of their markup runs."""

from __future__ import annotations

import json

from browser import chrome

HOSTILE = ('<!--<script>window.__pwned = 1</script> </script><img src=x onerror="window.__pwned = 2">'
           '<b>bold?</b> & \u2028 ]]>')
ROW = '{"question": "Q%d %s", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": "a", "answer_idx": "A"}'


def test_hostile_records_are_all_shown_and_nothing_runs(local_model, tmp_path, cli):
    local_model.text = "Answer " + HOSTILE
    data = tmp_path / "us_4_options_test.jsonl"
    data.write_text("".join(ROW % (i, json.dumps(HOSTILE)[1:-1]) + "\n" for i in range(7)))
    code, _, err = cli("generate", "-m", "openai-api/local/m", "-d", "medqa", "--data-path", str(data),
                       "--runs-dir", str(tmp_path / "runs"), "-q")
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    driver = chrome()
    try:
        driver.get((run / "report.html").as_uri())
        assert driver.execute_script("return window.__pwned") is None
        assert driver.find_element("id", "count").text == "7 of 7 samples"
        rows = driver.find_elements("css selector", "#browser tbody tr")
        assert len(rows) == 7 and HOSTILE.split("\u2028")[0].strip()[:40] in rows[0].text
        rows[3].click()
        detail = json.loads(driver.execute_script("return document.getElementById('detail').textContent"))
        assert HOSTILE in detail["sample"]["question"] and HOSTILE in detail["outputs"][0]["text"]
        assert driver.find_elements("css selector", "img[src='x']") == []  # no markup of a record became HTML
        driver.save_screenshot(str(tmp_path / "report.png"))
        assert driver.execute_script("return window.__pwned") is None
    finally:
        driver.quit()
