"""One worker thread and a bounded queue: requests never run the model on their own thread.

A request submits a :class:`Job` and returns at once; the worker runs jobs one at a time (one model, one
process, no contention), updating ``progress``. When the queue is full, :meth:`JobQueue.submit` raises
:class:`QueueFull` and the server answers 503. Each finished job owns a temporary folder under the queue's
root; it is deleted when the job expires (``result_ttl_s``, or more than ``max_kept_jobs`` finished jobs),
when a client deletes the job, and with the whole root on :meth:`JobQueue.close`.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]
# process(payload, out_dir, progress) -> result dict (plain JSON); raises UserFacingError for bad input.
ProcessFn = Callable[[Any, Path, ProgressFn], dict]


class QueueFull(RuntimeError):
    """No room for another job right now."""


class UserFacingError(ValueError):
    """A problem with a request the client can fix; its message is safe to show."""


class Cancelled(RuntimeError):
    """The server is shutting down: the running job stops at its next progress report."""


@dataclass
class Job:
    id: str
    payload: Any = field(repr=False)
    status: str = "queued"  # queued -> running -> done | error
    progress: float = 0.0
    error: str | None = None
    result: dict | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    folder: Path | None = None

    def to_json(self, position: int | None = None) -> dict:
        out = {"id": self.id, "status": self.status, "progress": round(self.progress, 3)}
        if position is not None:
            out["queue_position"] = position
        if self.error:
            out["error"] = self.error
        if self.result is not None:
            out["result"] = self.result
        return out


class JobQueue:
    """Runs ``process`` on submitted payloads in one background thread.

    Args:
        process: the work (see :data:`ProcessFn`).
        max_queue: jobs waiting or running at most; more are refused with :class:`QueueFull`.
        result_ttl_s: seconds a finished job's files are kept.
        max_kept_jobs: finished jobs kept at most (oldest deleted first).
    """

    def __init__(self, process: ProcessFn, max_queue: int = 8, result_ttl_s: float = 900.0,
                 max_kept_jobs: int = 32, internal_errors: tuple[type[BaseException], ...] = ()):
        self.process, self.max_queue = process, max_queue
        self.result_ttl_s, self.max_kept_jobs = result_ttl_s, max_kept_jobs
        self.user_errors = (UserFacingError, Cancelled, *internal_errors)
        self.root = Path(tempfile.mkdtemp(prefix="tqse-serve-"))
        # Also at interpreter exit, whatever path the process takes out (close() is the normal one).
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), ignore_errors=True)
        self._closing = threading.Event()
        self._jobs: dict[str, Job] = {}
        self._pending: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting = 0  # queued + running
        self._worker = threading.Thread(target=self._run, name="tqse-serve-worker", daemon=True)
        self._worker.start()

    # -- client side -------------------------------------------------------------------------------------
    def submit(self, payload: Any) -> Job:
        with self._lock:
            if self._waiting >= self.max_queue:
                raise QueueFull(f"the server is busy ({self._waiting} extractions queued, limit {self.max_queue}); "
                                "try again in a few seconds")
            job = Job(uuid.uuid4().hex, payload)
            self._jobs[job.id] = job
            self._waiting += 1
        self._pending.put(job)
        self._expire()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """How many jobs run or wait before this queued one (0 = next)."""
        if job.status != "queued":
            return None
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status in ("queued", "running") and j.created < job.created)

    def delete(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in ("queued", "running"):
                return False
            del self._jobs[job_id]
        self._remove_files(job)
        return True

    def stats(self) -> dict:
        with self._lock:
            return {"waiting": self._waiting, "max_queue": self.max_queue, "kept_results": len(self._jobs) - self._waiting}

    def close(self, timeout: float = 30.0) -> None:
        """Cancel the running job at its next progress report, drop queued ones, delete every temporary file."""
        self._closing.set()
        self._pending.put(None)
        self._worker.join(timeout)
        self._cleanup()

    # -- worker ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._pending.get()
            if job is None:
                return
            if self._closing.is_set():
                job.status, job.error, job.payload = "error", "the server is shutting down", None
                continue
            self._execute(job)

    def _execute(self, job: Job) -> None:
        job.status = "running"
        job.folder = self.root / job.id
        job.folder.mkdir()

        def progress(fraction: float) -> None:
            if self._closing.is_set():
                raise Cancelled("the server is shutting down")
            job.progress = min(max(float(fraction), 0.0), 1.0)

        try:
            job.result = self.process(job.payload, job.folder, progress)
            job.progress, job.status = 1.0, "done"
        except self.user_errors as err:
            job.error, job.status = str(err), "error"
            self._remove_files(job)
        except Exception:  # never let one request kill the worker; the log keeps the traceback
            log.exception("job %s failed", job.id)
            job.error, job.status = "internal error while extracting (the server log has the details)", "error"
            self._remove_files(job)
        finally:
            job.payload = None  # the decoded audio: free it now, not at expiry
            job.finished = time.time()
            with self._lock:
                self._waiting -= 1
        self._expire()

    def _expire(self) -> None:
        now = time.time()
        with self._lock:
            done = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished)
            old = [j for j in done if now - j.finished > self.result_ttl_s]
            old += [j for j in done[: max(0, len(done) - self.max_kept_jobs)] if j not in old]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            self._remove_files(job)

    @staticmethod
    def _remove_files(job: Job) -> None:
        if job.folder is not None:
            shutil.rmtree(job.folder, ignore_errors=True)
