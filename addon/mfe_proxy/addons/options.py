"""Options of the addons: declared as text, as mitmproxy's own addons do, and parsed in `configure`,
where a bad value is refused with a message naming the option."""

import contextlib
import logging
from collections.abc import Iterator

from mitmproxy import ctx, exceptions

from mfe_proxy.errors import MfeError

logger = logging.getLogger("mfe-proxy")


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
def refusals(running: bool) -> Iterator[None]:
    """A bad value refused: once running, as mitmproxy refuses one (the old value stays); at start-up,
    logged, which stops mitmproxy cleanly with the message alone (an exception would be printed with a
    traceback and the proxy go on without mfe-proxy)."""
    try:
        yield
    except MfeError as error:
        if running:
            raise exceptions.OptionsError(str(error)) from None
        logger.error(f"mfe-proxy cannot start: {error}")
