"""Disks and folders that refuse: a full disk mid-run keeps every sample written and says how to
finish; a read-only disk and a runs folder under a file are one clear message each."""

from __future__ import annotations

import json
import os
import subprocess

import pytest


@pytest.fixture
def small_disk(tmp_path):
    """A real 96 KiB file system (tmpfs; needs root, as on the CI machines)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        if os.environ.get("MEDTRUST_REQUIRE_DISK_FAULTS"):  # .ci/run sets it when it runs as root
            pytest.fail("could not mount a tmpfs although MEDTRUST_REQUIRE_DISK_FAULTS is set")
        pytest.skip("mounting a real small file system needs root (CAP_SYS_ADMIN); run as root to test a full "
                    "and a read-only disk")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


ARGS = ("generate", "-m", "openai-api/local/m", "-d", "demo-qa", "--batch-size", "2", "-q")


def test_a_full_disk_keeps_what_was_written_and_resume_finishes(local_model, small_disk, cli):
    local_model.text = "A long answer. " * 200  # about 3 KB a sample: the disk fills within the run
    code, _, err = cli(*ARGS, "--limit", "40", "--runs-dir", str(small_disk / "runs"))
    assert code == 2 and "No space left on device" in err and "Unexpected" not in err
    assert "samples are saved in" in err and "--resume" in err and "free some disk space" in err
    (run,) = (small_disk / "runs").iterdir()
    saved = int(err.split(" of 40 samples are saved")[0].rsplit("\n", 1)[-1])
    assert 0 < saved < 40
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    code, _, err = cli("generate", "--resume", str(run), "-q")
    assert code == 0, err
    ids = [json.loads(x)["id"] for x in (run / "samples.jsonl").read_text().splitlines()]
    assert len(ids) == 40 == len(set(ids))


def test_a_read_only_disk_is_one_clear_message(local_model, small_disk, cli):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = cli(*ARGS, "--limit", "2", "--runs-dir", str(small_disk / "runs"))
    assert code == 2 and "Read-only file system" in err and str(small_disk) in err and "--runs-dir" in err
    assert "Unexpected" not in err


def test_a_runs_folder_under_a_file_is_one_clear_message(local_model, tmp_path, cli):
    (tmp_path / "afile").write_text("x")
    code, _, err = cli(*ARGS, "--limit", "2", "--runs-dir", str(tmp_path / "afile" / "runs"))
    assert code == 2 and "Not a directory" in err and "is a file" in err and "Unexpected" not in err
