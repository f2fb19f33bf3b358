"""Whether some pathname matches two path patterns, and the shortest such pathname: what the config's
validation warns about (two applications that claim the same paths), exactly where Vercel's own check
only tests one pattern against the other's text."""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from mfe_proxy.paths.expressions import PathPattern, syntax_tree
from mfe_proxy.paths.tree import (
    ANY,
    Alt,
    BackReference,
    Boundary,
    Chars,
    Node,
    NotFollowedBy,
    Repeat,
    Seq,
)

# Beyond this many pairs of automaton states, `find_overlap` stops looking and answers "may overlap".
_OVERLAP_SEARCH_LIMIT = 10_000


class Overlap(NamedTuple):
    """Two patterns that some pathname matches both: the shortest such pathname, or None when the
    search gave up (only contrived regexes get there) and the patterns may overlap."""

    example: str | None


def find_overlap(a: PathPattern, b: PathPattern) -> Overlap | None:
    """Whether some pathname (an ASCII string) matches both patterns, and which.

    Both patterns run as automata over the same input, one class of characters at a time,
    breadth first, until a pathname is accepted by both or no unexplored pair of states is left.
    Patterns whose leading literal segments differ are answered at once. The automata are exact but
    for word boundaries and back-references, which they over-approximate: a pathname found is checked
    against both regexes before it counts. A search beyond `_OVERLAP_SEARCH_LIMIT` pairs answers
    "may overlap": a false alarm is safe for a warning, a missed overlap is not."""
    if any(x != y for x, y in zip(a.literal_prefix, b.literal_prefix, strict=False)):
        return None
    left, right = _automaton(a.source), _automaton(b.source)
    alphabet = _alphabet(left, right)
    start = (left.initial, right.initial)
    paths = {start: ""}
    pending = collections.deque([start])
    unconfirmed = False
    while pending:
        pair = pending.popleft()
        path = paths[pair]
        if left.accepts(pair[0]) and right.accepts(pair[1]):
            if a.matches(path) and b.matches(path):
                return Overlap(path)
            unconfirmed = True
        for char in alphabet:
            code = ord(char)
            after = (left.step(pair[0], code), right.step(pair[1], code))
            if after[0] and after[1] and after not in paths:
                if len(paths) >= _OVERLAP_SEARCH_LIMIT:
                    return Overlap(None)
                paths[after] = path + char
                pending.append(after)
    return Overlap(None) if unconfirmed else None


# A thread of the automaton: a state, and the states of the lookaheads it must still not complete.
type _Thread = tuple[int, frozenset[int]]


class _Automaton:
    """A Thompson automaton built from a pattern's syntax tree.

    A negative lookahead starts a sub-automaton alongside the thread that passed it; if the
    sub-automaton reaches its end, what it must not be followed by has been seen and the thread
    dies. Threads are kept as sets, so `step` is the subset construction done lazily."""

    def __init__(self, tree: Node) -> None:
        self.empty: list[list[int]] = []  # transitions that consume nothing
        self.moves: list[list[tuple[Chars, int]]] = []
        self.lookahead: list[int | None] = []  # the sub-automaton a state starts
        self.forbidden: set[int] = set()  # ends of lookahead sub-automata
        self._steps: dict[tuple[frozenset[_Thread], int], frozenset[_Thread]] = {}
        start = self._state()
        self.final = self._build(tree, start)
        self.initial = frozenset(self._enter(start, frozenset()))

    def _state(self) -> int:
        self.empty.append([])
        self.moves.append([])
        self.lookahead.append(None)
        return len(self.empty) - 1

    def _build(self, node: Node, start: int) -> int:
        """Adds the states that match `node` from `start`; returns the state where it ends."""
        match node:
            case Chars():
                end = self._state()
                self.moves[start].append((node, end))
            case Seq(parts):
                end = start
                for part in parts:
                    end = self._build(part, end)
            case Alt(options):
                end = self._state()
                for option in options:
                    branch = self._state()
                    self.empty[start].append(branch)
                    self.empty[self._build(option, branch)].append(end)
            case Repeat(item, at_least_once):
                body = self._state()
                self.empty[start].append(body)
                end = self._state()
                self.empty[self._build(item, body)].extend((body, end))
                if not at_least_once:
                    self.empty[start].append(end)
            case NotFollowedBy(item):
                end = self._state()
                self.empty[start].append(end)
                sub = self._state()
                self.lookahead[end] = sub
                self.forbidden.add(self._build(item, sub))
            case Boundary():
                end = start  # over-approximated: `find_overlap` checks what it finds with the regexes
            case BackReference():
                end = self._build(Repeat(ANY, at_least_once=False), start)  # over-approximated too
        return end

    def _settle(self, states: Iterable[int]) -> frozenset[int] | None:
        """Lookahead states after their empty transitions; None once a lookahead is complete."""
        seen = set(states)
        stack = list(seen)
        while stack:
            for target in self.empty[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        if not self.forbidden.isdisjoint(seen):
            return None
        return frozenset(s for s in seen if self.moves[s])

    def _enter(self, state: int, constraints: frozenset[int]) -> Iterator[_Thread]:
        """The threads reachable from `state` without consuming input."""
        stack = [(state, constraints)]
        seen: set[_Thread] = set()
        while stack:
            thread = stack.pop()
            if thread in seen:
                continue
            seen.add(thread)
            state, constraints = thread
            sub = self.lookahead[state]
            if sub is not None:
                started = self._settle((sub,))
                if started is None:
                    continue
                constraints |= started
            if self.moves[state] or state == self.final:
                yield state, constraints
            stack.extend((target, constraints) for target in self.empty[state])

    def step(self, threads: frozenset[_Thread], code: int) -> frozenset[_Thread]:
        known = self._steps.get((threads, code))
        if known is not None:
            return known
        after: set[_Thread] = set()
        for state, constraints in threads:
            targets = [target for chars, target in self.moves[state] if code in chars]
            if not targets:
                continue
            still = self._settle(t for s in constraints for chars, t in self.moves[s] if code in chars)
            if still is None:
                continue
            for target in targets:
                after.update(self._enter(target, still))
        self._steps[threads, code] = result = frozenset(after)
        return result

    def accepts(self, threads: frozenset[_Thread]) -> bool:
        return any(state == self.final for state, _ in threads)

    def character_sets(self) -> Iterator[Chars]:
        for moves in self.moves:
            for chars, _ in moves:
                yield chars


@functools.lru_cache(maxsize=4096)
def _automaton(source: str) -> _Automaton:
    return _Automaton(syntax_tree(source))


# Which character stands for a class of characters in an example pathname: the first of these it holds.
_PREFERRED = "/abcdefghijklmnopqrstuvwxyz0123456789-_.~" + "".join(
    c for c in map(chr, range(0x21, 0x7F)) if not c.isalnum() and c not in "/-_.~#?"
)


def _alphabet(*automata: _Automaton) -> list[str]:
    """One ASCII character from each class of characters that every transition treats alike, the
    likeliest in a real pathname first.

    Every set is closed under ASCII case, so an upper-case letter behaves like its lower-case twin
    and only the latter is kept; the bounds around both ranges of letters make the twins line up."""
    bounds = {0, 0x41, 0x5B, 0x61, 0x7B, 0x80}
    for automaton in automata:
        for chars in automaton.character_sets():
            for low, high in chars.ranges:
                bounds.update((low, high + 1))
    edges = sorted(b for b in bounds if b <= 0x80)
    chosen = []
    for low, high in itertools.pairwise(edges):
        if 0x41 <= low <= 0x5A:
            continue
        members = [chr(code) for code in range(low, high)]
        chosen.append(min(members, key=_rank))
    return sorted(chosen, key=_rank)


def _rank(char: str) -> int:
    index = _PREFERRED.find(char)
    return index if index >= 0 else len(_PREFERRED) + ord(char)
