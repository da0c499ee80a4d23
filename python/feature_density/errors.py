"""The exceptions of feature_density: each carries the message of ``density`` itself."""

from __future__ import annotations

__all__ = ["DensityError", "NoCheckpointError", "DensityNotFoundError", "NO_CHECKPOINT_EXIT_CODE"]

#: The exit status of ``density`` when the run exists but has no checkpoint (at or before the step
#: asked for). Every other failure exits 1, a usage error 64.
NO_CHECKPOINT_EXIT_CODE = 3


class DensityError(RuntimeError):
    """A ``density`` command failed: ``message`` is what it printed on stderr, ``returncode`` its
    exit status and ``command`` the command line."""

    def __init__(self, message: str, returncode: int | None = None, command: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.command = command

    @classmethod
    def from_process(cls, command: list[str], returncode: int, stderr: str) -> "DensityError":
        """The error for a finished ``density`` process: :class:`NoCheckpointError` for exit status 3."""
        text = stderr.strip() or f"no message (exit status {returncode})"
        kind = NoCheckpointError if returncode == NO_CHECKPOINT_EXIT_CODE else cls
        return kind(f"`{' '.join(command)}` failed (exit status {returncode}): {text}", returncode, command)


class NoCheckpointError(DensityError):
    """The run exists but has no checkpoint yet (or none at or before the step asked for): the one
    failure after which training should start from scratch."""


class DensityNotFoundError(DensityError, FileNotFoundError):
    """The ``density`` tool is not installed where feature_density looks for it."""
