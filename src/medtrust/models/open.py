"""The one door to a model: generators, judges and entailment models are all opened here.

``open_model(model, args, needs, purpose)`` checks the capabilities the backend class declares
before loading anything, loads the backend once per process for each (model string, backend
arguments) and checks the loaded model again, and wraps it in the generation cache. A judge or
entailment model equal to the generator (same string and arguments) is the same loaded model.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from medtrust.errors import CapabilityError
from medtrust.models.base import Backend, Capability

_LOADED: dict[tuple[str, str], Backend] = {}
_CACHES: dict[str, Any] = {}


def _key(model: str, args: dict[str, Any]) -> tuple:
    from medtrust.models.registry import environment_of
    return model.strip(), json.dumps(args, sort_keys=True, default=str), environment_of(model)


def require(name: str, have: Iterable[Capability], needs: Iterable[Capability], purpose: str) -> None:
    """Stop before generating if the backend ``name`` (with capabilities ``have``) lacks one that
    ``purpose`` needs; the message says which model strings have it."""
    from medtrust.models.registry import who_has
    have = set(have)
    missing = [c for c in Capability if c in set(needs) and c not in have]
    if missing:
        cap = missing[0]
        raise CapabilityError(
            f"{purpose} needs the '{cap.value}' capability, which the backend '{name}' does not have.",
            f"use a backend that has it: {who_has(cap)}")


def open_model(model: str, args: dict[str, Any] | None = None, needs: Iterable[Capability] = (),
               purpose: str = "This study", cache: bool = True) -> Backend:
    """The backend for a model string (``args`` from ``-M``/``-J`` key=value), loaded once per
    process, capabilities checked before and after loading, behind the generation cache when
    ``cache``."""
    from medtrust.models.registry import declared_capabilities, resolve
    args = dict(args or {})
    needs = set(needs)
    require(model, declared_capabilities(model, args), needs, purpose)
    key = _key(model, args)
    if key not in _LOADED:
        _LOADED[key] = resolve(model, **args)
    backend = _LOADED[key]
    require(backend.name, backend.capabilities, needs, purpose)
    return cached(backend) if cache else backend


def cached(backend: Backend) -> Backend:
    """``backend`` behind the content-addressed generation cache (a new wrapper: its own hit counts)."""
    from medtrust.models.cache import CachedBackend, GenerationCache
    from medtrust.paths import generation_cache_path
    path = str(generation_cache_path())
    if path not in _CACHES:
        _CACHES[path] = GenerationCache(path)
    return CachedBackend(backend, _CACHES[path])


def uncached(backend: Backend) -> Backend:
    """The loaded backend behind a cache wrapper (or ``backend`` itself)."""
    from medtrust.models.cache import CachedBackend
    return backend.inner if isinstance(backend, CachedBackend) else backend


def close_models() -> None:
    """Free every model opened here (tests and long-lived processes)."""
    for backend in _LOADED.values():
        try:
            backend.close()
        except Exception:  # noqa: BLE001 - freeing memory must not fail a caller
            pass
    _LOADED.clear()
    for c in _CACHES.values():
        c.close()
    _CACHES.clear()
