"""Files a run reads and writes: a manifest's images stay in its folder unless allowed; run folders
and the generation cache are readable by their owner only."""

from __future__ import annotations

import stat

import pytest
from PIL import Image

from medtrust.data.registry import load_dataset
from medtrust.errors import DataError


def manifest(tmp_path, image: str):
    folder = tmp_path / "set"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "outside.png")
    Image.new("RGB", (8, 8)).save(folder / "inside.png")
    rows = ['{"image": "inside.png", "question": "Is there a circle?", "answer": "no"}',
            f'{{"image": "{image}", "question": "Is there a square?", "answer": "no"}}']
    (folder / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    return folder


@pytest.mark.parametrize("image", ["../outside.png", "OUTSIDE"])
def test_manifest_images_stay_in_its_folder_unless_allowed(tmp_path, image):
    image = str(tmp_path / "outside.png") if image == "OUTSIDE" else image
    folder = manifest(tmp_path, image)
    with pytest.raises(DataError) as err:
        load_dataset("image-manifest", path=folder)
    assert "Row 2 of" in str(err.value) and "is outside the folder" in str(err.value)
    assert "--allow-outside-images" in err.value.fix
    rows = load_dataset("image-manifest", path=folder, allow_outside_images=True)
    assert rows[1].images == [str((folder / image).expanduser()) if not image.startswith("/") else image]


def test_run_folders_and_the_cache_are_private(tmp_path):
    from medtrust.models.cache import GenerationCache
    from medtrust.runs.folder import RunFolder
    run = RunFolder.create(tmp_path / "runs", "generate", "embedded", {"study": "generate"})
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o700
    cache = GenerationCache(tmp_path / "c" / "cache.sqlite")
    cache.put_many({"k": "v"})
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600


def test_an_unusable_cache_path_is_one_clear_message(tmp_path):
    from medtrust.errors import MedtrustError
    from medtrust.models.cache import GenerationCache
    (tmp_path / "afile").write_text("x")
    with pytest.raises(MedtrustError, match="cannot be opened") as err:
        GenerationCache(tmp_path / "afile" / "cache.sqlite")
    assert "--no-cache" in err.value.fix
