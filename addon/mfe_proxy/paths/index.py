"""Finding the first of many path patterns that matches a pathname, without testing every regex: a
trie over the patterns' leading literal segments narrows the candidates. The router's lookup."""

from collections.abc import Iterable

from mfe_proxy.paths.expressions import PathPattern


class PatternIndex[T]:
    """Finds the first of many (pattern, value) entries whose pattern matches a pathname.

    Patterns sit in a trie under their lowercased leading literal segments; a lookup walks the
    pathname's segments down the trie and tests only the patterns met on the way, plus those without
    a literal prefix, in entry order."""

    __slots__ = ("_depth", "_entries", "_match", "_root")

    def __init__(self, entries: Iterable[tuple[PathPattern, T]]) -> None:
        self._entries = tuple(entries)
        self._match = tuple(pattern.regex.match for pattern, _ in self._entries)
        self._root = _TrieNode()
        self._depth = 0
        for index, (pattern, _) in enumerate(self._entries):
            node = self._root
            for segment in pattern.literal_prefix:
                node = node.children.setdefault(segment, _TrieNode())
            node.entries.append(index)
            self._depth = max(self._depth, len(pattern.literal_prefix))

    def lookup(self, pathname: str) -> tuple[PathPattern, T] | None:
        """The first entry, in the order given, whose pattern matches `pathname`; None if none does."""
        node = self._root
        candidates = [node.entries]
        if self._depth and pathname[:1] == "/":
            # A pattern's regex accepts one "#" or "?" after its last segment (path-to-regexp's
            # optional trailing delimiter); trie keys never hold either, so drop it for the walk.
            walk = pathname[:-1] if pathname[-1] in "#?" else pathname
            segments = walk.lower().split("/", self._depth + 1)
            for segment in segments[1 : self._depth + 1]:
                child = node.children.get(segment)
                if child is None:
                    break
                node = child
                if node.entries:
                    candidates.append(node.entries)
        best = len(self._entries)
        for indices in candidates:
            for index in indices:
                if index >= best:
                    break
                if self._match[index](pathname):
                    best = index
                    break
        return self._entries[best] if best < len(self._entries) else None


class _TrieNode:
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.entries: list[int] = []  # in entry order
