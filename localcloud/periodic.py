"""What the local cloud's watchers share (console, logs, queue metrics, reload): a step every `interval` s."""

from __future__ import annotations

import threading
from typing import Self


class Periodic:
    """Calls `tick()` every `interval` s on a daemon thread named `name`, from `start()` until `stop()`.

    A tick that raises goes to `failed(error)` (by default raised again, which ends the thread), unless `stop()` is
    under way: the emulator is then stopping too, and the loop just ends.
    """

    def __init__(self, name: str, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def failed(self, error: Exception) -> None:
        raise error

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception as error:
                if self._stop.is_set():
                    return
                self.failed(error)
