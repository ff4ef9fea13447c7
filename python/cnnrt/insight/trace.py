"""A profile as Chrome-trace JSON (chrome://tracing, ui.perfetto.dev): one complete ("X")
event per engine step per run, and one per run.

The engine times each step's duration, not its start: steps run one after another, so a step
is placed at its run's start plus the durations of the steps before it (the gaps between
steps, which are tiny, are shown at the end of each run).
"""

from __future__ import annotations

import json


def trace_events(prof) -> list[dict]:
    events = [{"name": "process_name", "ph": "M", "pid": 0, "tid": 0,
               "args": {"name": f"cnnrt {prof.source}"}}]
    for r, run in enumerate(prof.runs):
        start_us = run["start"] * 1e6
        events.append({"name": f"run {r}", "cat": "run", "ph": "X", "pid": 0, "tid": 0,
                       "ts": start_us, "dur": run["end_to_end"] * 1e6,
                       "args": {"run": r}})
        t = start_us
        for s, dur in enumerate(run["steps"]):
            if not prof.step_kernels[s]:
                continue  # eliminated by the engine (an in-place concat, an aliasing reshape)
            layer = prof.layers[prof.step_layer[s]]
            events.append({"name": layer.name, "cat": layer.op, "ph": "X", "pid": 0, "tid": 1,
                           "ts": t, "dur": dur * 1e6,
                           "args": {"run": r, "op": layer.op, "kernel": prof.step_kernels[s],
                                    "origin": layer.origin, "flops": layer.flops,
                                    "bytes": layer.bytes}})
            t += dur * 1e6
    return events


def write_chrome_trace(prof, path) -> None:
    with open(path, "w") as f:
        json.dump({"traceEvents": trace_events(prof), "displayTimeUnit": "ms"}, f)
