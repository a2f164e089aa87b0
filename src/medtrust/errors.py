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


def from_os_error(e: OSError, doing: str = "") -> MedtrustError:
    """One clear error for a file or folder the environment refused (permissions, a read-only or
    full disk, a path through a file), naming the path and the fix."""
    import errno
    where = f" {e.filename}" if getattr(e, "filename", None) else ""
    what = f"{doing}: " if doing else ""
    problem = f"{what}{e.strerror or e}{':' if where else ''}{where}."
    fixes = {
        errno.EACCES: "give yourself write permission there, or choose another folder (--runs-dir)",
        errno.EPERM: "give yourself write permission there, or choose another folder (--runs-dir)",
        errno.EROFS: "the disk is read-only: choose a folder on a writable disk (--runs-dir)",
        errno.ENOSPC: "free some disk space (or choose a folder on another disk with --runs-dir)",
        errno.EDQUOT: "your disk quota is used up: free some space or choose another disk",
        errno.ENOTDIR: "a part of that path is a file, not a folder: choose another --runs-dir",
        errno.EISDIR: "that path is a folder; give a file",
        errno.ENOENT: "check the path",
        errno.ENAMETOOLONG: "choose a shorter path",
    }
    return MedtrustError(problem, fixes.get(e.errno, "check the path, its permissions and the disk"))
