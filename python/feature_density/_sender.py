"""The thread beside the training loop that writes states to ``density record``.

``capture`` (on the training thread) copies a state into one of two host buffers the sender owns
and queues it; the sender thread waits for the copy (a CUDA event, never on the training thread),
writes the frame straight from the buffer into the pipe and hands the buffer back. So at most two
states are in flight, the memory is two host copies of the state, and ``capture`` waits only when
both buffers are still being written: it never drops a state.

``density record --acks`` writes a JSON line to its stdout for each frame as soon as it is stored
(or refused); a reader thread counts those, so the recorder knows how many states are stored and
which frame was refused. Another reads density's messages (warnings, errors) from its stderr.
"""

from __future__ import annotations

import collections
import fcntl
import json
import os
import queue
import re
import struct
import subprocess
import sys
import threading
import time

import numpy as np

__all__ = ["Sender", "host_dtype"]

#: The frame's dtype name for each host buffer dtype.
_FRAME_DTYPES = {np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("float32"): "F32",
                 np.dtype("float64"): "F64"}
#: The largest whole number a half-precision dtype holds with every smaller one: past it, counts
#: kept in that dtype may already have lost increments.
_EXACT_LIMITS = {"bfloat16": 2 ** 8, "float16": 2 ** 11}
_F_SETPIPE_SZ = 1031


def host_dtype(value) -> tuple[np.dtype, str | None]:
    """The dtype of the host copy of ``value``'s counts, and the name of a half-precision source.

    Integers are kept as int64 (int32 as is), floats as float32/float64; bfloat16 and float16 are
    widened to float32, which holds each of their values exactly.

    Raises:
        ValueError: for bool, complex or non-numeric counts, naming the dtype.
    """
    name = str(value.dtype).replace("torch.", "")
    if name in _EXACT_LIMITS:
        return np.dtype("float32"), name
    if name in ("int64", "int32", "float32", "float64"):
        return np.dtype(name), None
    if name in ("int8", "int16", "uint8", "uint16", "uint32"):
        return np.dtype("int64"), None
    raise ValueError(f"neuron_fired_count has dtype {name}; pass integer or float counts (int64 keeps them exact)")


class _Slot:
    """One host buffer and the state queued in it."""

    __slots__ = ("counts", "array", "vectors", "vectors_buffer", "event", "cuda_event", "step", "half",
                 "frame_number")

    def __init__(self):
        self.counts = None          # the host buffer (a torch tensor, pinned for a CUDA source, or numpy)
        self.array = None           # a numpy view of it, for the pipe
        self.vectors = None         # the vector count, a numpy scalar array (a view of vectors_buffer)
        self.vectors_buffer = None  # a pinned one-element tensor for a vector count on a GPU
        self.event = None           # the CUDA event the copies of this state complete at, or None
        self.cuda_event = None      # the slot's CUDA event, made once
        self.step = 0
        self.half = None
        self.frame_number = 0


class Sender:
    """One ``density record`` process, its pipe written by a thread of its own.

    Args:
        command: The ``density record ... --acks`` command line.
        run: The run's name, for messages.
        slots: Host buffers, so states in flight (2).
        stored: Called with each state's step from the sender thread once its frame is written.
        echo: Where density's own messages go (stderr).
    """

    def __init__(self, command: list[str], run: str, stored, slots: int = 2, echo=None):
        self.run = run
        self.command = command
        self._stored_callback = stored
        self._echo = echo or sys.stderr
        # Its own session: a Ctrl-C in the terminal (SIGINT to the foreground process group) or a
        # signal to the trainer's group does not reach it; it ends when its stdin ends.
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, bufsize=0, start_new_session=True)
        self._fd = self.process.stdin.fileno()
        try:
            fcntl.fcntl(self._fd, _F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        self._lock = threading.Condition()
        self.tail = collections.deque(maxlen=200)   # density's last lines, for error messages
        self.refusals: list[tuple[int, str]] = []   # (frame number, message) of refused frames
        self.notices: list[str] = []                # warnings for the training thread to raise
        self._noticed: set[str] = set()
        self.written = 0     # frames written whole into the pipe
        self.verdicts = 0    # frames density reported on (stored, already stored or refused)
        self.stored = 0      # frames density reported stored (or already stored)
        self.write_error: str | None = None
        self.exited = False  # density's stdout and stderr both ended
        self._streams_open = 2
        self.send_seconds = 0.0   # the sender's time per frame, summed (waiting for density included)
        self._queued = 0
        self._free: queue.Queue = queue.Queue()
        for _ in range(slots):
            self._free.put(_Slot())
        self._queue: queue.Queue = queue.Queue()
        self._headers: dict = {}
        self._reader = threading.Thread(target=self._read, name=f"density-record-stderr:{run}", daemon=True)
        self._acks = threading.Thread(target=self._read_acks, name=f"density-record-acks:{run}", daemon=True)
        self._writer = threading.Thread(target=self._send, name=f"density-record:{run}", daemon=True)
        self._reader.start()
        self._acks.start()
        self._writer.start()

    # MARK: - the training thread

    def take(self) -> tuple[_Slot, float]:
        """A free host buffer, and the seconds waited for it (0 when one was free)."""
        try:
            return self._free.get_nowait(), 0.0
        except queue.Empty:
            pass
        began = time.perf_counter()
        slot = self._free.get()
        return slot, time.perf_counter() - began

    def give_back(self, slot: _Slot) -> None:
        """Returns a buffer taken but not queued (the copy failed)."""
        self._free.put(slot)

    def queue(self, slot: _Slot) -> int:
        """Queues a filled buffer; returns its frame number in the stream (1, 2, ...)."""
        with self._lock:
            self._queued += 1
            slot.frame_number = self._queued
        self._queue.put(slot)
        return slot.frame_number

    def wait_for_verdict(self, frame_number: int, timeout: float | None = None) -> bool:
        """Waits until density reported on frame ``frame_number`` (or stopped); True when it did."""
        with self._lock:
            return self._lock.wait_for(lambda: self.verdicts >= frame_number or self.exited, timeout)

    def wait_for_all(self) -> None:
        """Waits until density reported on every queued frame, or stopped.

        density reports a frame as soon as it is committed when the next one has not arrived (it
        encodes a frame while the one before commits only when the next is already there), so
        nothing more needs to be sent.
        """
        with self._lock:
            target = self._queued
        if target:
            self.wait_for_verdict(target)

    def take_notices(self) -> list[str]:
        with self._lock:
            notices, self.notices = self.notices, []
        return notices

    def finish(self) -> int:
        """Writes what is queued, ends the stream and waits for density; its exit status."""
        self._queue.put(None)
        self._writer.join()
        try:
            self.process.stdin.close()
        except OSError:
            pass
        status = self.process.wait()
        self._reader.join(timeout=30)
        self._acks.join(timeout=30)
        self.process.stderr.close()
        self.process.stdout.close()
        return status

    # MARK: - the sender thread

    def _header(self, counts: np.ndarray, vectors: np.ndarray) -> bytes:
        key = (counts.dtype, counts.shape, vectors.dtype)
        if key not in self._headers:
            size, width = counts.nbytes, vectors.dtype.itemsize
            header = {
                "neuron_fired_count": {"dtype": _FRAME_DTYPES[counts.dtype], "shape": list(counts.shape),
                                       "data_offsets": [0, size]},
                "num_activation_vectors": {"dtype": _FRAME_DTYPES[vectors.dtype], "shape": [],
                                           "data_offsets": [size, size + width]},
                "step": {"dtype": "I64", "shape": [], "data_offsets": [size + width, size + width + 8]},
            }
            text = json.dumps(header, separators=(",", ":")).encode()
            text += b" " * (-len(text) % 8)
            self._headers[key] = struct.pack("<QQ", 8 + len(text) + size + width + 8, len(text)) + text
        return self._headers[key]

    def _write(self, data) -> None:
        view = memoryview(data).cast("B")
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def _notice(self, key: str, text: str) -> None:
        with self._lock:
            if key not in self._noticed:
                self._noticed.add(key)
                self.notices.append(text)

    def _send(self) -> None:
        while True:
            slot = self._queue.get()
            if slot is None:
                return
            try:
                if self.write_error is None:
                    self._send_slot(slot)
            finally:
                self._free.put(slot)

    def _frame(self, slot: _Slot) -> None:
        counts, vectors = slot.array, slot.vectors
        if sys.byteorder != "little":
            counts = counts.astype(counts.dtype.newbyteorder("<"))
            vectors = vectors.astype(vectors.dtype.newbyteorder("<"))
        self._write(self._header(counts, vectors))
        self._write(counts)
        self._write(vectors.tobytes() + struct.pack("<q", slot.step))

    def _send_slot(self, slot: _Slot) -> None:
        began = time.perf_counter()
        if slot.event is not None:
            slot.event.synchronize()     # the device-to-host copies are done
        counts, vectors = slot.array, slot.vectors
        if slot.half is not None and counts.size:
            largest = float(counts.max())
            if largest > _EXACT_LIMITS[slot.half]:
                self._notice(f"half:{slot.half}", (
                    f"run '{self.run}': {slot.half} counts above {_EXACT_LIMITS[slot.half]} (up to {largest:.0f} at "
                    f"step {slot.step}) may already have lost increments in {slot.half}; keep neuron_fired_count "
                    f"in int64 (or float32 below 2^24) to keep it exact"))
        try:
            self._frame(slot)
        except OSError as error:
            with self._lock:
                self.write_error = str(error)
                self._lock.notify_all()
            return
        now = time.perf_counter()
        with self._lock:
            self.written += 1
            self.send_seconds += now - began
        try:
            self._stored_callback(slot.step)
        except Exception as error:  # never stop the stream; the recorder reports it
            self._notice(f"stored:{type(error).__name__}", f"{type(error).__name__}: {error}")

    # MARK: - the reader threads

    def _read_acks(self) -> None:
        """density's verdict on each frame, in order: ``{"frame", "step", "outcome"[, "message"]}``."""
        for raw in iter(self.process.stdout.readline, b""):
            try:
                ack = json.loads(raw)
                frame, outcome = int(ack["frame"]), ack["outcome"]
            except (ValueError, KeyError, TypeError):
                with self._lock:
                    self.tail.append(raw.decode("utf-8", "replace").rstrip("\n"))
                continue
            with self._lock:
                for warning in ack.get("warnings") or ():
                    self._warning(f"warning: {warning}")   # before the verdict: flush() sees it
                self.verdicts = max(self.verdicts, frame)
                if outcome == "refused":
                    self.refusals.append((frame, "Error: " + str(ack.get("message", "refused"))))
                else:
                    self.stored += 1
                self._lock.notify_all()
        self._stream_ended()

    def _warning(self, line: str) -> None:
        """A warning line of density's, as a notice: one of each kind (float32 counts past 2^24
        come with every later frame, and a frame's warnings come both with its verdict and on
        stderr). The caller holds the lock."""
        key = "warning:" + re.sub(r"\d+", "N", line)
        if key not in self._noticed:
            self._noticed.add(key)
            self.notices.append(f"density: {line}")

    def _stream_ended(self) -> None:
        with self._lock:
            self._streams_open -= 1
            if self._streams_open == 0:
                self.exited = True
                self._lock.notify_all()

    def _read(self) -> None:
        """density's messages: warnings become notices, everything is echoed and kept for errors."""
        for raw in iter(self.process.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.tail.append(line)
                if line.startswith("warning:"):
                    self._warning(line)
                    continue
            try:
                self._echo.write(line + "\n")
            except (OSError, ValueError):
                pass
        self._stream_ended()

    def message(self) -> str:
        """density's error lines (or its last lines)."""
        with self._lock:
            lines = list(self.tail)
        errors = [line for line in lines if line.startswith("Error")]
        return "\n".join(errors or lines[-5:]) or "no message"

