"""Options of the addons: declared as text, as mitmproxy's own addons do, and parsed in `configure`,
where a bad value is refused with a message naming the option."""

import contextlib
import difflib
import logging
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from mfe_proxy.errors import MfeError

logger = logging.getLogger("mfe-proxy")


class Option(NamedTuple):
    """An option of an addon, declared in its `load`; listed by `mfe-proxy --help` too."""

    name: str
    default: str | bool
    help: str
    type: type = str


def declare(loader: Loader, options: Iterable[Option]) -> None:
    for option in options:
        loader.add_option(option.name, option.type, option.default, option.help)


def whole_number(option: str, expected: str) -> int:
    """The value of `option` as a whole number of 0 or more; `expected` says what it may be."""
    text: str = getattr(ctx.options, option)
    try:
        value = int(text)
    except ValueError:
        raise MfeError(f"{option} must be a whole number, not {text!r}") from None
    if value < 0:
        raise MfeError(f"{option} must be {expected}, not {value}")
    return value


@contextlib.contextmanager
def refusals(strict: bool) -> Iterator[None]:
    """A bad value refused as mitmproxy refuses one (`strict`: the old value stays, or start-up ends
    before anything listens), or logged, which stops a starting mitmdump cleanly with the message
    alone (an exception would be printed with a traceback, and mitmdump go on without the addon)."""
    try:
        yield
    except MfeError as error:
        if strict:
            raise exceptions.OptionsError(str(error)) from None
        logger.error(f"mfe-proxy cannot start: {error}")


def unknown(names: Iterable[str], declared: Iterable[str]) -> str | None:
    """What to say about `mfe_` options no addon declares (mitmproxy keeps unknown options aside
    without a word), with the likeliest meant; None when there are none."""
    known = list(declared)
    problems = []
    for name in sorted(n for n in names if n.startswith("mfe_")):
        close = difflib.get_close_matches(name, known, n=1)
        problems.append(f"{name}" + (f" (did you mean {close[0]}?)" if close else ""))
    if not problems:
        return None
    return f"unknown option {', '.join(problems)}; mfe-proxy's options: {', '.join(known)}"
