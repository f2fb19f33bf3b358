"""nginx syntax for the export (quoting, comments, `map` blocks) and the rewriting chains its maps
are built of.

nginx evaluates a map only when its variable is read, and a map's value only for the entry that
matched, so a request pays only for the steps its own path needs. nginx has no loop and no global
replace: where the proxy rewrites a string throughout (dot segments resolved, runs of slashes
collapsed, escapes decoded), each map of a chain of fixed length rewrites one occurrence; the
`*_STEPS` constants say how many each chain handles.
"""

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# How many occurrences each chain handles; what happens beyond: `differences.DIFFERENCES`.
PATHNAME_STEPS = 10  # dot segments and backslashes resolved in a request's path
REFERER_STEPS = 6  # the same in a Referer's path and in /_next/image's url
SLASH_STEPS = 8  # runs of slashes collapsed, in a redirect or in a forwarded path
DECODE_STEPS = 10  # percent-escapes decoded in /_next/image's url
FLAG_STEPS = 3  # vercel-mfe-flag-value parameters taken off the query

# Characters the WHATWG URL parser reads as dot segments, and what tells that a path needs resolving.
# A backslash is written `\x5c` in these regexes: so, nginx's string escapes never touch it.
_DOT = r"(?:\.|%2e)"
DOT_SEGMENT = rf"(?:^|/){_DOT}{{1,2}}(?:/|$)|\x5c"
# Escapes in /_next/image's url decoded before matching: those encodeURIComponent writes for a character
# that stays itself in a pathname. It never encodes letters, digits or `-._~!*'()`, and what the WHATWG
# parser would encode again (spaces, non-ASCII) is matched in its encoded form anyway.
_DECODED = {
    "2F": "/", "5C": "\\", "3A": ":", "3B": ";", "3D": "=", "40": "@", "26": "&", "24": "$", "2C": ",",
    "5B": "[", "5D": "]", "7C": "|", "2B": "+",
}  # fmt: skip


class Writer:
    """Lines of an nginx configuration, indented by block."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append("    " * self._depth + text if text else "")

    def comment(self, text: str) -> None:
        for part in text.splitlines():
            self.line(f"# {comment_text(part)}".rstrip())

    @contextlib.contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.line(f"{header} {{")
        self._depth += 1
        yield
        self._depth -= 1
        self.line("}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def comment_text(text: str) -> str:
    """Text that stays one comment line: control characters (a newline would end the comment) as `?`."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)


def quote(text: str) -> str:
    """`text` as a quoted nginx string: a map key, a regex, a name. In a string nginx reads only `\\\\`,
    `\\"`, `\\'`, `\\n`, `\\r` and `\\t` as escapes and keeps any other backslash, so only a backslash
    that would start one of those is doubled, and regexes keep their own backslashes as written.
    Newlines are written `\\n`: every directive stays on one line."""
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            following = text[index + 1 : index + 2]
            out.append("\\\\" if not following or following in "\\\"'tnr\n\r\t" else "\\")
        else:
            out.append(_ESCAPES.get(char, char))
    return '"' + "".join(out) + '"'


_ESCAPES = {'"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def pcre_literal(text: str) -> str:
    """`text` matched literally in PCRE: its syntax characters escaped, control characters as `\\xHH`
    (in non-UTF mode the UTF-8 bytes of other characters match themselves)."""
    return "".join(_pcre_character(char) for char in text)


def _pcre_character(char: str) -> str:
    if ord(char) < 0x20 or char == "\x7f":
        return f"\\x{ord(char):02x}"
    return "\\" + char if char in _PCRE_SYNTAX else char


_PCRE_SYNTAX = frozenset("\\^$.|?*+()[]{}")


def value(text: str) -> str:
    """A quoted nginx value that may hold variables: a literal `$` becomes `${mfe_dollar}`, the only
    way nginx has to write one (see `geo $mfe_dollar`)."""
    return quote(text).replace("$", "${mfe_dollar}")


def regex_key(pcre: str, *, caseless: bool = False) -> str:
    return quote(("~*" if caseless else "~") + pcre)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rewriting step of a chain: where `pcre` matches, the string becomes `result`: the inside of
    a quoted nginx value, `$1`... for the groups and no other variable but `$mfe_dollar` (a map's
    variable could run a regex of its own and clobber the groups while the value is built)."""

    pcre: str
    result: str


def map_block(w: Writer, source: str, target: str, entries: Sequence[tuple[str, str]]) -> None:
    """`map source $target { key value; ... }`; keys and values already in nginx syntax."""
    with w.block(f"map {source} ${target}"):
        for key, result in entries:
            w.line(f"{key} {result};")


def chain(w: Writer, source: str, name: str, rules: Sequence[Rule], steps: int, *, caseless: bool) -> str:
    """`steps` maps, each applying the first of `rules` that matches to the previous one's result;
    returns the variable holding the last result."""
    previous = source
    for step in range(1, steps + 1):
        target = f"{name}_{step}"
        entries = [(regex_key(rule.pcre, caseless=caseless), f'"{rule.result}"') for rule in rules]
        map_block(w, previous, target, [*entries, ("default", previous)])
        previous = f"${target}"
    return previous


def dot_segment_rules() -> list[Rule]:
    """One step of the WHATWG path parser on a path starting with `/`: a backslash read as `/`, a `.`
    segment dropped, a `..` segment dropped with the segment before it, leftmost first. A `.` or `..`
    that ends the path leaves a trailing `/`. Single dots go before double ones, which changes nothing:
    a `.` segment is dropped wherever it stands."""
    return [
        Rule(r"^([^\x5c]*)\x5c(.*)$", "$1/$2"),
        Rule(rf"^(.*?)/{_DOT}(/.*)$", "$1$2"),
        Rule(rf"^(.*)/{_DOT}$", "$1/"),
        Rule(rf"^(.*?)(?:/[^/]*)?/{_DOT}{{2}}(/.*)$", "$1$2"),
        Rule(rf"^(.*?)(?:/[^/]*)?/{_DOT}{{2}}$", "$1/"),
    ]


def resolved(w: Writer, source: str, name: str, steps: int) -> str:
    """A variable holding `source` (a path) with dot segments and backslashes resolved. Paths that need
    none, nearly all, skip the chain."""
    last = chain(w, source, f"{name}_resolving", dot_segment_rules(), steps, caseless=True)
    map_block(w, source, name, [(regex_key(DOT_SEGMENT, caseless=True), last), ("default", source)])
    return f"${name}"


def decode_rules() -> list[Rule]:
    """One step of decoding /_next/image's url as Vercel does (`URLSearchParams`, then
    `decodeURIComponent`): a `?` or `#` ends the path; then one escape of `_DECODED`; `%25` last, so
    that the escape it leaves is decoded by the next step, as the second decoding does."""
    rules = [Rule(r"^(.*?)(?:%3f|%23|[?#])", "$1")]
    for code, char in _DECODED.items():
        rules.append(Rule(f"^(.*?)%{code}(.*)$", "$1" + value(char)[1:-1] + "$2"))
    rules.append(Rule("^(.*?)%25(.*)$", "$1%$2"))
    return rules


def slash_rules(*, backslash_alone: bool) -> list[Rule]:
    """One step collapsing the first run of `/` and `\\` before the query into one `/` (and, with
    `backslash_alone`, a lone `\\` too, as node-http-proxy forwards it)."""
    run = r"(?:[/\x5c]{2,}|\x5c)" if backslash_alone else r"[/\x5c]{2,}"
    return [Rule(rf"^([^?]*?){run}(.*)$", "$1/$2")]


def flag_rules(parameter: str) -> list[Rule]:
    """One step taking a `parameter` (with or without a value) off a query string."""
    name = pcre_literal(parameter)
    return [
        Rule(rf"^{name}(?:=[^&]*)?(?:&(.*))?$", "$1"),
        Rule(rf"^(.*?)&{name}(?:=[^&]*)?(&.*)?$", "$1$2"),
    ]


def first_parameter(parameter: str) -> str:
    """A PCRE over a query string whose group 1 is the value of the first `parameter` (as
    URLSearchParams.get finds it, without decoding); "" when it has no `=`."""
    name = pcre_literal(parameter)
    return rf"^(?:(?!{name}(?:[=&]|$))[^&]*&)*{name}(?:=([^&]*))?(?:&|$)"
