"""Self-contained HTML reports (inline CSS, images and data; no network)."""
