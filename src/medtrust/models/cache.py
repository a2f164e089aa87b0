"""A content-addressed generation cache (SQLite), and a backend wrapper that uses it.

The key of one completion is the SHA-256 of: the backend's identity (``info()`` without
throughput settings), the messages, the full sampling config and the sample index. A re-run or
``--resume`` therefore regenerates nothing, and a new ``--seed`` draws new samples.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from medtrust.errors import MedtrustError
from medtrust.models.base import (
    Backend,
    Completion,
    GenerationRequest,
    LoglikRequest,
    LoglikResult,
    ProgressFn,
    canonical_messages,
)

#: info() keys that change speed, not outputs
VOLATILE = {"batch_size", "concurrency", "timeout", "max_retries"}
#: how sampled tokens are drawn; entries written under another scheme are never handed out
RNG_SCHEME = 2  # 2: each sample from its own generator seeded by models.base.row_seed


def identity(backend: Backend) -> dict[str, Any]:
    return {k: v for k, v in backend.info().items() if k not in VOLATILE}


def completion_key(ident: dict, request: GenerationRequest, index: int) -> str:
    payload = {"backend": ident, "messages": canonical_messages(request.messages),
               "sampling": request.sampling_config(), "index": index, "rng": RNG_SCHEME}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _pack(c: Completion) -> str:
    d = c.to_dict()
    if c.hidden is not None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **c.hidden)
        d["hidden_npz"] = base64.b64encode(buf.getvalue()).decode()
    return json.dumps(d)


def _unpack(text: str) -> Completion:
    d = json.loads(text)
    c = Completion.from_dict(d)
    if "hidden_npz" in d:
        with np.load(io.BytesIO(base64.b64decode(d["hidden_npz"]))) as z:
            c.hidden = {k: z[k] for k in z.files}
    return c


class GenerationCache:
    """A SQLite key-value store of completions, safe for several processes (WAL mode)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # prompts and answers: readable by the owner only (SQLite's
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # -wal/-shm files follow)
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as e:
            raise MedtrustError(f"The generation cache {self.path} cannot be opened ({e}).",
                                "run with --no-cache, or point MEDTRUST_GENERATION_CACHE at a writable file") from None

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = list(keys[start:start + 500])
                marks = ",".join("?" * len(part))
                found.update(self._db.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", part))
        return found

    def put_many(self, items: dict[str, str]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", items.items())
            self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class CachedBackend(Backend):
    """Wraps a backend: completions found in the cache are not generated again.

    For a request with n samples where some are cached, only the missing ones are drawn (one
    request naming their sample indices, so each is the sample it would have been uncached)."""

    def __init__(self, inner: Backend, cache: GenerationCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.capabilities = inner.capabilities
        self._ident = identity(inner)
        self.hits = 0
        self.misses = 0

    def __getattr__(self, item):  # model, tokenizer, render... of the inner backend
        return getattr(self.inner, item)

    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressFn | None = None) -> list[list[Completion]]:
        keys = [[completion_key(self._ident, r, i) for i in r.sample_indices()] for r in requests]
        found = self.cache.get_many([k for ks in keys for k in ks])
        results: list[list[Completion | None]] = []
        todo: list[tuple[int, list[int]]] = []
        for ri, (r, ks) in enumerate(zip(requests, keys)):
            row = [_unpack(found[k]) if k in found else None for k in ks]
            if r.hidden_states and any(c is not None and c.hidden is None for c in row):
                row = [None] * r.n  # cached without hidden states: draw again
            missing = [i for i, c in enumerate(row) if c is None]
            if missing:
                todo.append((ri, missing))
            results.append(row)
        self.hits += sum(len(ks) for ks in keys) - sum(len(m) for _, m in todo)
        self.misses += sum(len(m) for _, m in todo)
        if progress and len(todo) < len(requests):
            progress(len(requests) - len(todo))
        if todo:
            sub = [_only(requests[ri], missing) for ri, missing in todo]
            try:
                fresh = self.inner.generate(sub, progress=progress)
            except BaseException as e:  # Ctrl-C or an error: keep the completions that did arrive
                partial = getattr(e, "partial_results", None) or {}
                self.cache.put_many({keys[todo[j][0]][i]: _pack(c) for j, comps in partial.items()
                                     for i, c in zip(todo[j][1], comps)})
                raise
            store = {}
            for (ri, missing), comps in zip(todo, fresh):
                for i, c in zip(missing, comps):
                    results[ri][i] = c
                    store[keys[ri][i]] = _pack(c)
            self.cache.put_many(store)
        return results  # type: ignore[return-value]

    def loglik(self, requests: Sequence[LoglikRequest]) -> list[list[LoglikResult]]:
        keys = [[_loglik_key(self._ident, r.context, c) for c in r.continuations] for r in requests]
        found = self.cache.get_many([k for ks in keys for k in ks])
        missing = [ri for ri, ks in enumerate(keys) if any(k not in found for k in ks)]
        fresh = dict(zip(missing, self.inner.loglik([requests[ri] for ri in missing]))) if missing else {}
        store = {}
        out = []
        for ri, ks in enumerate(keys):
            if ri in fresh:
                out.append(fresh[ri])
                store.update({k: json.dumps(vars(res)) for k, res in zip(ks, fresh[ri])})
            else:
                out.append([LoglikResult(**json.loads(found[k])) for k in ks])
        if store:
            self.cache.put_many(store)
        return out

    def info(self) -> dict[str, Any]:
        return self.inner.info()

    def close(self) -> None:
        self.inner.close()


def _loglik_key(ident: dict, context: str, continuation: str) -> str:
    payload = {"backend": ident, "loglik": [context, continuation]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _only(request: GenerationRequest, positions: list[int]) -> GenerationRequest:
    """The request cut down to the samples at ``positions`` (of its n), keeping their indices."""
    if len(positions) == request.n:
        return request
    indices = request.sample_indices()
    return replace(request, n=len(positions), indices=tuple(indices[p] for p in positions))
