"""Plans executing in the service's process, each on a thread of its own, so the console's request
that starts one answers at once and the plan's page follows its progress.

The execution is the engine's (``plans.run``), the one the API and the CLI use: items are claimed
and executed once each, in batches, and a run stopped anywhere is resumed by running the plan again.
So a thread adds no logic, only the waiting: one run per plan at a time in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..engine.fire import Engine
from ..errors import LabelwfError
from ..operations import plans

_log = logging.getLogger("labelwf.service")


class PlanRuns:
    """The plans this process runs in the background: ``size`` items per transaction, ``progress``
    called after each batch (a hook, as the CLI's progress bar)."""

    def __init__(self, *, size: int = plans.DEFAULT_BATCH, progress: Callable[[int, int], None] | None = None) -> None:
        self.size, self.progress = size, progress
        self._threads: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, engine: Engine, plan_id: int, *, executed_by: str) -> bool:
        """Start running ``plan_id`` on a thread; False if this process runs it already."""
        with self._lock:
            if self.running(plan_id):
                return False
            thread = threading.Thread(
                target=self._run, args=(engine, plan_id, executed_by), name=f"plan-{plan_id}", daemon=True
            )
            self._threads[plan_id] = thread
            thread.start()
        return True

    def _run(self, engine: Engine, plan_id: int, executed_by: str) -> None:
        try:
            plans.run(engine, plan_id, size=self.size, progress=self.progress, executed_by=executed_by)
        except LabelwfError as exc:  # cancelled meanwhile, the database gone: the plan's page says where it stands
            _log.warning("plan %s stopped: %s", plan_id, exc)
        except Exception:  # pragma: no cover - logged with its traceback; the items stay done or pending
            _log.exception("plan %s failed", plan_id)

    def running(self, plan_id: int) -> bool:
        """Whether this process runs ``plan_id`` now."""
        thread = self._threads.get(plan_id)
        return thread is not None and thread.is_alive()

    def wait(self, plan_id: int, timeout: float | None = None) -> None:
        """Until the run of ``plan_id`` ends (for a shutdown, or a test): a join, never a poll."""
        thread = self._threads.get(plan_id)
        if thread is not None:
            thread.join(timeout)


def runs_of(state: Any) -> PlanRuns:
    """The app's runs (``app.state.plan_runs``), made on first use."""
    found = getattr(state, "plan_runs", None)
    if not isinstance(found, PlanRuns):
        found = PlanRuns()
        state.plan_runs = found
    return found
