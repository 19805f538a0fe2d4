"""`rasa run` under cProfile that records only between two signals, for bench/profile_turn.py.

    python bench/profiled_rasa.py run --enable-api ...   (the same arguments as `python -m rasa`)

SIGUSR1 starts recording, SIGUSR2 stops it and writes the stats to $PROFILE_OUT (a new file per stop:
$PROFILE_OUT.<n>). Rasa's event loop, the SQL tracker store and the policies run in the main thread,
which is the thread cProfile sees. Not for production: a bench tool only.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys

_profiler = cProfile.Profile()
_dumps = 0


def _start(*_: object) -> None:
    _profiler.enable()


def _stop(*_: object) -> None:
    global _dumps
    _profiler.disable()
    _profiler.dump_stats(f"{os.environ['PROFILE_OUT']}.{_dumps}")
    _profiler.clear()
    _dumps += 1


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    from rasa.__main__ import main

    sys.argv = ["rasa", *sys.argv[1:]]
    main()
