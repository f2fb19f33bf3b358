"""Validating an application's routing: its groups and path patterns, the overlaps between the paths
of two applications (refused by Vercel's rule, warned about where it misses them) and its asset
prefixes."""

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from mfe_proxy.config.findings import Findings, child
from mfe_proxy.config.reader import ConfigObject
from mfe_proxy.errors import PathPatternError, quote
from mfe_proxy.model import Application, Route, default_asset_prefix, javascript_key
from mfe_proxy.paths.expressions import PathPattern, compile_pattern
from mfe_proxy.paths.overlap import find_overlap

_ASSET_PREFIX = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")


class RoutesValidator(Findings):
    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.claims: list[_Claim] = []
        self.overlaps: list[tuple[_Claim, _Claim, str | None]] = []  # that start, for a warning

    def routing(self, name: str, value: Any, where: str) -> tuple[Route, ...]:
        if not self.expect(value, list, where, "a list of routing groups"):
            return ()
        if not value:
            self.warning(
                where,
                f"is empty, so {name} serves no paths (only its asset prefixes), as on Vercel; list a group "
                "with paths, or remove `routing` to make this the default application",
            )
        routes = []
        for index, group in enumerate(value):
            group_where = child(where, index)
            if not self.expect(group, dict, group_where, 'an object such as {"paths": ["/docs/:path*"]}'):
                continue
            self.keys(group, group_where, frozenset({"group", "flag", "paths"}), frozenset())
            group_name = self.string(group, "group", group_where)
            flag = self.string(group, "flag", group_where)
            paths = group.get("paths")
            paths_where = child(group_where, "paths")
            if paths is None:
                self.problem(paths_where, "is missing: list the path patterns this group routes")
                continue
            if not self.expect(paths, list, paths_where, "a list of path patterns"):
                continue
            if not paths:
                self.warning(paths_where, "is empty, so this group routes no paths, as on Vercel")
            routes.append(Route(tuple(self.patterns(name, paths, paths_where, flag)), group_name, flag))
        return tuple(routes)

    def patterns(
        self, application: str, paths: list[Any], where: str, flag: str | None
    ) -> Iterator[PathPattern]:
        for index, source in enumerate(paths):
            path_where = child(where, index)
            if not self.expect(source, str, path_where, "a path pattern string"):
                continue
            try:
                pattern = compile_pattern(source)
            except PathPatternError as error:
                self.problem(path_where, str(error))
                continue
            for note in pattern.notes:
                self.warning(path_where, f"{quote(source)} {note}")
            self.claims.append(_Claim(application, path_where, pattern, flag))
            yield pattern

    def asset_prefixes(
        self, name: str, spec: ConfigObject, where: str, routes: tuple[Route, ...] | None
    ) -> tuple[str, ...]:
        """`routes` is None for the default application."""
        empty = spec.get("assetPrefix") == "" and routes is not None
        value = "" if empty else self.string(spec, "assetPrefix", where)
        if routes is None:
            if value is not None:
                self.problem(
                    child(where, "assetPrefix"),
                    "only child applications have an asset prefix; the default application serves / itself",
                )
            return ()
        if empty:
            # Vercel checks a prefix only when it is not empty, and then routes the root to it.
            self.warning(
                child(where, "assetPrefix"),
                f'is empty, so "/" goes to {name}, as on Vercel; remove it, or give the prefix a name',
            )
        elif value is not None and not _ASSET_PREFIX.fullmatch(value):
            self.problem(
                child(where, "assetPrefix"),
                f"{quote(value)} must be lowercase letters, digits and hyphens, starting with a letter "
                "and not ending with a hyphen",
            )
            value = None
        if value and value != f"vc-ap-{name}":
            self.asset_prefix_route(value, routes, child(where, "assetPrefix"))
        # Vercel's proxy also routes the name-based and the hashed prefix of an application that
        # sets its own, so assets built before the prefix changed keep loading.
        prefixes = [value, default_asset_prefix(name), f"vc-ap-{name.lower()}"]
        return tuple(dict.fromkeys(p for p in prefixes if p is not None and "/" not in p))

    def asset_prefix_route(self, prefix: str, routes: tuple[Route, ...], where: str) -> None:
        """Vercel's deploy needs the prefix's path in an unflagged group, so that assets built with
        the prefix are served before and after it changes."""
        path = f"/{prefix}/:path*"
        if not any(p.source == path for route in routes if route.flag is None for p in route.paths):
            self.vercel_refuses(
                where,
                f"{quote(path)} is not among the application's unflagged paths",
                f'"When `assetPrefix` is specified, `{path}` must be added the routing paths for the '
                'application"',
            )

    def check_overlaps(self) -> None:
        """Vercel refuses a path listed twice, and two applications' paths where one pattern, as a
        regex, matches the other's text: so does this proxy, with the same rule. A real overlap that
        rule misses (`/:lang(en|fr)/labs` and `/en/:path*`) starts, as on Vercel, with a warning."""
        for a, b in self.comparable_claims():
            source_a, source_b = a.pattern.source, b.pattern.source
            if source_a == source_b:
                owner = (
                    "listed twice (also "
                    if a.application == b.application
                    else f"also claimed by {a.application} ("
                )
                self.problem(b.where, f"{quote(source_b)} is {owner}{a.where})")
            elif a.application == b.application:
                continue  # one application's patterns may overlap: its own order decides
            elif _matches_text(a.pattern, source_b) or _matches_text(b.pattern, source_a):
                self.problem(
                    b.where,
                    f"{quote(source_b)} overlaps {quote(source_a)} of {a.application} ({a.where}): Vercel "
                    "refuses paths of two applications where one pattern matches the other; give the path "
                    "to one application only",
                )
            else:
                found = find_overlap(a.pattern, b.pattern)
                if found is not None:
                    self.overlaps.append((a, b, found.example))

    def warn_overlaps(self, applications: Mapping[str, Application]) -> None:
        """Each overlap that starts: which application serves the paths both patterns match."""
        rank = {name: javascript_key(name) for name in applications}
        ordered = sorted(self.claims, key=lambda claim: rank.get(claim.application, (True, 0)))
        for a, b, example in self.overlaps:
            first = min(a, b, key=lambda claim: rank.get(claim.application, (True, 0)))
            if example is not None:
                first = next(claim for claim in ordered if claim.pattern.matches(example))
            behind = f" (behind its flag {quote(first.flag)})" if first.flag else ""
            paths = f"paths such as {example}; those go" if example else "the same paths; those would go"
            self.warning(
                b.where,
                f"{quote(b.pattern.source)} and {quote(a.pattern.source)} of {a.application} ({a.where}) "
                f"both match {paths} to {first.application}{behind}, whose paths Vercel tries first (README, "
                '"Overlapping paths"). Vercel\'s own check misses this overlap',
            )

    def comparable_claims(self) -> Iterator[tuple["_Claim", "_Claim"]]:
        """Pairs of claims that might overlap, the one written first first. Patterns whose first
        segments are different literals never do (nor does either's regex match the other's text),
        so each is compared only within its first segment's bucket and with the patterns that start
        with a parameter: linear in the number of patterns for usual configs."""
        buckets: dict[str, list[tuple[int, _Claim]]] = {}
        for numbered in enumerate(self.claims):
            prefix = numbered[1].pattern.literal_prefix
            buckets.setdefault(prefix[0] if prefix else "", []).append(numbered)
        dynamic = buckets.pop("", [])
        for bucket in [*buckets.values(), dynamic]:
            pairs = itertools.combinations(bucket, 2)
            if bucket is not dynamic:
                pairs = itertools.chain(pairs, itertools.product(dynamic, bucket))
            for first, second in pairs:
                yield (first[1], second[1]) if first[0] < second[0] else (second[1], first[1])

    def check_asset_prefixes(self, applications: Mapping[str, Application]) -> None:
        owners: dict[str, str] = {}
        for app in applications.values():
            for prefix in app.asset_prefixes:
                owner = owners.setdefault(prefix, app.name)
                if owner != app.name:
                    self.problem(
                        child(child("applications", app.name), "assetPrefix"),
                        f"the asset prefix {quote(prefix)} is also one of {owner}'s",
                    )


def _matches_text(pattern: PathPattern, text: str) -> bool:
    """Vercel's overlap rule: `pathToRegexp(pattern).test(text)`. Its `i` flag folds non-ASCII
    letters too, so another pattern's non-ASCII text is tested with Python's Unicode folding."""
    if text.isascii():
        return pattern.matches(text)
    return re.match(pattern.regex.pattern, text, re.IGNORECASE) is not None


class _Claim(NamedTuple):
    application: str
    where: str
    pattern: PathPattern
    flag: str | None
