"""Run folders, the generation cache and resumable execution."""
