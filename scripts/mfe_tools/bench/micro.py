"""Micro-benchmarks of the pure core, in the benchmark's own process: route lookup as the number of
path patterns grows, and loading a config of many applications."""

import json
import time
from pathlib import Path
from typing import Any

from mfe_proxy.config import load_config, parse_config
from mfe_proxy.router import Router


def pattern_config(count: int) -> bytes:
    """A valid config with `count` path patterns over (up to) ten child applications: each pattern under a
    literal first segment of its own (the common case, which the router's index finds directly),
    plus two under a parameter (`/:lang(en|fr|de)/...`), which every lookup has to test."""
    children = [f"app{index}" for index in range(min(10, count - 2))]
    paths: dict[str, list[str]] = {name: [] for name in children}
    forms = ("/s{k}", "/s{k}/:slug", "/s{k}/:path*", "/s{k}/items/:id/edit")
    for k in range(count - 2):
        paths[children[k % len(children)]].append(forms[k % len(forms)].format(k=k))
    paths[children[0]].append("/:lang(en|fr|de)/guides/:path*")
    paths[children[1]].append("/:lang(en|fr|de)/blog/:slug")
    applications: dict[str, Any] = {"web": {"development": {"local": 3000}}}
    for index, name in enumerate(children):
        applications[name] = {"development": {"local": 4000 + index}, "routing": [{"paths": paths[name]}]}
    return json.dumps({"version": "1", "applications": applications}).encode()


def lookup_paths(count: int) -> list[str]:
    """Request paths for `pattern_config(count)`: matches spread over the whole pattern list, the
    parameter-led ones, and paths that only the default application serves."""
    forms = ("/s{k}", "/s{k}/intro", "/s{k}/a/b/c", "/s{k}/items/42/edit")
    step = max(1, (count - 2) // 40)
    paths = [forms[k % len(forms)].format(k=k) for k in range(0, count - 2, step)]
    paths += ["/fr/guides/setup", "/de/blog/launch", "/", "/products/shoes", "/s/unknown"]
    return paths


def route_lookup_us(count: int, repeat: int = 5) -> float:
    """Microseconds per routing decision (`Router.route`) with `count` path patterns; the best of
    `repeat` passes, since the machine's other load only ever adds time."""
    router = Router(parse_config(pattern_config(count), f"{count}-patterns.json"))
    paths = lookup_paths(count)
    headers: dict[str, str] = {}
    calls = max(1, 20_000 // len(paths))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            for path in paths:
                router.route("GET", path, headers)
        best = min(best, (time.perf_counter() - start) / (calls * len(paths)))
    return best * 1e6


def applications_config(count: int) -> bytes:
    """A config of `count` applications, each child with two path patterns."""
    applications: dict[str, Any] = {"web": {"development": {"local": 3000}}}
    for index in range(count - 1):
        applications[f"app{index}"] = {
            "development": {"local": 4000 + index, "fallback": f"app{index}.example.com"},
            "routing": [{"paths": [f"/a{index}", f"/a{index}/:path*"]}],
        }
    return json.dumps({"version": "1", "applications": applications}, indent=2).encode()


def config_load_ms(count: int, workdir: Path, repeat: int = 3) -> float:
    """Milliseconds to load (read, parse, validate) a config of `count` applications; best of `repeat`."""
    path = workdir / f"microfrontends-{count}-applications.json"
    path.write_bytes(applications_config(count))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        load_config(path)
        best = min(best, time.perf_counter() - start)
    return best * 1000
