"""``python -m bench.profiled OUT_PREFIX`` runs ``helpline run``; SIGUSR1 starts
(and stops)
cProfile and a stack sampler (after start-up and warm-up, so that only turns
are measured); on SIGTERM it writes ``OUT_PREFIX.pstats`` (cProfile),
``OUT_PREFIX.txt`` (the top entries, sorted) and ``OUT_PREFIX.collapsed``
(sampled stacks of the event loop's thread, one ``a;b;c count`` line each:
the input of flamegraph.pl or speedscope)."""

from __future__ import annotations

import collections
import cProfile
import io
import pstats
import signal
import sys
import threading
import time
from types import FrameType

SAMPLE_EVERY = 0.002  # seconds


def _stack(frame: FrameType | None) -> str:
    names = []
    while frame is not None:
        code = frame.f_code
        module = frame.f_globals.get("__name__", "?")
        names.append(f"{module}:{code.co_name}")
        frame = frame.f_back
    return ";".join(reversed(names))


class Sampler(threading.Thread):
    """Samples the main thread's stack; idle time (the loop waiting in
    select/epoll) is counted under its own stack, so it can be told apart."""

    def __init__(self, target: int) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.counts: collections.Counter[str] = collections.Counter()
        self.running = True
        self.recording = False

    def run(self) -> None:
        while self.running:
            frame = None
            if self.recording:
                frame = sys._current_frames().get(self.target)
            if frame is not None:
                self.counts[_stack(frame)] += 1
            time.sleep(SAMPLE_EVERY)


def main(prefix: str) -> int:
    import os

    from bot.cli import main as helpline

    # The sampler only runs when the loop's thread lets go of the GIL: ask it
    # to let go often, or samples would gather where it blocks (I/O) only.
    sys.setswitchinterval(0.0002)
    # The pure-Python loop: its wait for I/O shows as its own stack (idle).
    os.environ["HELPLINE_UVLOOP"] = "0"

    sampler = Sampler(threading.get_ident())
    profile = cProfile.Profile()
    sampler.start()

    def toggle(_sig: int, _frame: object) -> None:
        sampler.recording = not sampler.recording
        if sampler.recording:
            profile.enable()
        else:
            profile.disable()

    signal.signal(signal.SIGUSR1, toggle)
    try:
        code = helpline(["run"])
    finally:
        profile.disable()
        sampler.running = False
        profile.dump_stats(prefix + ".pstats")
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs()
        out.write("== by own time (tottime) ==\n")
        stats.sort_stats("tottime").print_stats(40)
        out.write("\n== by cumulative time ==\n")
        stats.sort_stats("cumulative").print_stats(60)
        with open(prefix + ".txt", "w", encoding="utf-8") as fh:
            fh.write(out.getvalue())
        with open(prefix + ".collapsed", "w", encoding="utf-8") as fh:
            for stack, count in sampler.counts.most_common():
                fh.write(f"{stack} {count}\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
