"""Where an import's time goes, for the report: the command run again under cProfile, and the functions (Python's
own and the drivers' C methods) that took the most of the importing process's time, each with its share of the
run's wall time. A driver's method holds the database's own work: SQLite runs inside `sqlite3.Cursor.execute`,
and a PostgreSQL statement's time on the server is spent in psycopg waiting for its answer.

Only the importing process is profiled: the one that prepares rows beside it (storage.prepared_elsewhere) stops
its inherited profiler when forked, so that the profile does not slow it and make the importer wait for it more
than it does unprofiled. The profiled run is slower than the measured one (cProfile's cost per Python call): its
shares, not its seconds, are the point.
"""

from __future__ import annotations

import re
import subprocess
import sys

TOP = 6
PROFILE_WRAPPER = """
import atexit, cProfile, os, pstats, runpy, sys, time
profiler = cProfile.Profile()
os.register_at_fork(after_in_child=profiler.disable)
started = time.perf_counter()
def report():
    profiler.disable()
    sys.stderr.write(f"PROFILE_WALL {time.perf_counter() - started}\\n")
    for (path, line, name), (_, _, own, _, _) in pstats.Stats(profiler).stats.items():
        sys.stderr.write(f"PROFILE {own} {os.path.basename(path)}:{name}\\n")
atexit.register(report)
sys.argv = sys.argv[2:]
profiler.enable()
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
# What the functions that usually lead mean, for a reader of the report.
MEANING = {
    "sqlite3.Cursor.execute": "SQLite running a statement",
    "sqlite3.Cursor.executemany": "SQLite inserting rows",
    "sqlite3.Connection.commit": "SQLite committing",
    "connection.py:wait": "psycopg waiting for PostgreSQL's answer",
    "_thread.lock.acquire": "waiting for another thread: the next prepared chunk or a checkpoint",
    "str.translate": "escaping COPY rows",
}
_C_METHOD = re.compile(r"<method '(\w+)' of '([\w.]+)' objects>")
_BUILT_IN = re.compile(r"<built-in method ([\w.]+)>")


def profile_module(module_args: list[str], env: dict[str, str]) -> str:
    """Runs `python -m MODULE_ARGS` under cProfile; returns a line of where its time went: its wall time and the
    TOP functions by their own time (a function's time without that of the functions it calls)."""
    result = subprocess.run([sys.executable, "-c", PROFILE_WRAPPER, "-m", *module_args], env=env,
                            capture_output=True, text=True, check=False)
    wall = [float(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("PROFILE_WALL ")]
    if result.returncode != 0 or not wall:
        raise RuntimeError(f"profiling {' '.join(module_args)} failed: {result.stderr.strip()[-2000:]}")
    own: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if line.startswith("PROFILE "):
            _, seconds, where = line.split(" ", 2)
            name = readable(where)
            own[name] = own.get(name, 0.0) + float(seconds)
    top = sorted(own.items(), key=lambda item: -item[1])[:TOP]
    return (f"{wall[0]:.1f} s profiled; most of it in " +
            ", ".join(f"`{name}`{f' ({MEANING[name]})' if name in MEANING else ''} {seconds:.1f} s "
                      f"({seconds / wall[0]:.0%})" for name, seconds in top))


def readable(where: str) -> str:
    """`file.py:function` as it is, a C method as `module.Class.method`, a built-in as its name."""
    _, _, name = where.partition(":") if where.startswith("~:") else ("", "", where)
    if (method := _C_METHOD.fullmatch(name)) is not None:
        return f"{method[2]}.{method[1]}"
    if (built_in := _BUILT_IN.fullmatch(name)) is not None:
        return built_in[1]
    return name
