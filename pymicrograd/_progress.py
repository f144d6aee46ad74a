"""A tiny text progress bar for training loops (no dependency).

On a terminal it redraws one line in place (a carriage return); anywhere else (a pipe, a log
file, CI) it prints a plain line every so often, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Progress of ``total`` steps, with a free-form status such as the loss.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progress(4, stream=out, every=2, tty=False)
    >>> for k in range(4):
    ...     bar.update(k + 1, f"loss {1.0 / (k + 1):.3f}")
    >>> bar.close()
    >>> print(out.getvalue(), end="")
    step 2/4  loss 0.500
    step 4/4  loss 0.250
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        width: int = 30,
        every: int | None = None,
        tty: bool | None = None,
    ) -> None:
        """Track ``total`` steps, drawing to ``stream`` (default: stdout).

        ``tty`` forces the in-place bar on or off (default: ``stream.isatty()``);
        ``every`` is the step interval of the plain lines (default: about ten lines
        per run, always including the last step).
        """
        self.total = max(int(total), 1)
        self.stream = sys.stdout if stream is None else stream
        self.width = width
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.every = every if every is not None else max(1, self.total // 10)
        self._last_draw = 0.0
        self._drawn = False
        self._last_len = 0

    def update(self, step: int, status: str = "") -> None:
        """Report that ``step`` steps (1..total) are done, with a status text."""
        if self.tty:
            now = time.monotonic()
            # redraw at most ~30 times a second, but always draw the last step
            if step < self.total and now - self._last_draw < 1 / 30:
                return
            self._last_draw = now
            done = min(step, self.total) * self.width // self.total
            bar = "#" * done + "-" * (self.width - done)
            line = f"[{bar}] {step}/{self.total}  {status}".rstrip()
            pad = " " * max(0, self._last_len - len(line))
            self.stream.write("\r" + line + pad)
            self._last_len = len(line)
            self._drawn = True
            self.stream.flush()
        elif step % self.every == 0 or step == self.total:
            self.stream.write(f"step {step}/{self.total}  {status}".rstrip() + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the in-place line (a newline), if one was drawn."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
