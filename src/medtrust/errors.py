"""User-facing errors: one clear message that names the problem and the fix."""

from __future__ import annotations


class MedtrustError(Exception):
    """An error caused by input or environment, shown to the user without a traceback.

    ``problem`` says what is wrong, ``fix`` says what to do about it.
    """

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem}\nFix: {fix}")


class ModelStringError(MedtrustError):
    """A model string that names no backend or no model."""


class DataError(MedtrustError):
    """A dataset that cannot be found, read or parsed."""


class CapabilityError(MedtrustError):
    """A study needs a capability the chosen backend does not have."""


class BackendUnavailable(MedtrustError):
    """A backend cannot be reached or loaded (server down, package missing, model missing)."""


class Interrupted(MedtrustError):
    """The user stopped a run (Ctrl-C); what was written is kept."""


def missing_extra(package: str, extra: str, purpose: str) -> MedtrustError:
    """The error for an optional dependency that is not installed."""
    return MedtrustError(
        f"{purpose} needs the package '{package}', which is not installed.",
        f"pip install 'medtrust[{extra}]'  (or: pip install {package})",
    )
