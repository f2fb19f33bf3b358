"""How each module of this package checks that mitmproxy still has what it replaces or reads."""

import inspect
from collections.abc import Callable

type Check = tuple[str, Callable[[], bool]]  # what is relied on, and whether it still holds


def source_holds(target: object, *texts: str) -> bool:
    """Whether mitmproxy's code still looks a replaced class or function up where it is used."""
    source = inspect.getsource(target)  # type: ignore[arg-type]
    return all(text in source for text in texts)
