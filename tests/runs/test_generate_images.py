"""`generate` over an image dataset: needs an image-capable model, and the report shows thumbnails."""

from __future__ import annotations

import json
import re


def test_image_dataset_on_a_text_model_stops_before_generating(cli, tmp_path):
    code, _, err = cli("generate", "--model", "embedded", "--dataset", "demo-images", "--limit", "2",
                       "--runs-dir", str(tmp_path))
    assert code == 2 and "a dataset of images" in err and "'images' capability" in err
    assert "vision-language" in err and not list(tmp_path.iterdir())


def test_image_dataset_on_a_vision_model_with_thumbnails(cli, tmp_path, tiny_vlm_path):
    code, out, err = cli("generate", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-images", "--limit", "3",
                         "--runs-dir", str(tmp_path), "--max-tokens", "4", "-q")
    assert code == 0, err
    run = next(tmp_path.iterdir())
    records = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert all(r["sample"]["images"] and r["outputs"][0]["text"] is not None for r in records)
    assert records[0]["prompt"][0]["content"][0] == {"type": "image", "image": records[0]["sample"]["images"][0]}
    page = (run / "report.html").read_text()
    thumbs = json.loads(re.search(r'id="thumbs-data">(.*?)</script>', page, re.S).group(1))
    assert set(thumbs) == {r["sample"]["images"][0] for r in records}
    assert all(v.startswith("data:image/jpeg;base64,") for v in thumbs.values())
