"""The environment variables Vercel's proxy honours, read as it reads them (docs/REFERENCE-BEHAVIOUR.md
§8.11, §8.12): the process environment, then `.env.production.local`, `.env.local`, `.env.production`
and `.env` in the working directory, the first that sets a variable winning (what `@next/env` loads for
the proxy; `vercel env pull` writes `.env.local`).

- `MFE_LOCAL_PROXY_PORT`: the proxy's port, over `options.localProxyPort` (and under `listen_port`),
  so that several worktrees each run a proxy without editing the file;
- `MFE_APP_PORT`: the port of the one application run locally;
- `AUTOMATION_BYPASS_<APPLICATION>` or `VERCEL_AUTOMATION_BYPASS_SECRET`: the secret that lets requests
  to a protected preview deployment (an https fallback) through.

Pure: the addon and the launcher pass the directory and the process environment in.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from mfe_proxy.errors import MfeError

ENV_FILES = (".env.production.local", ".env.local", ".env.production", ".env")
PROXY_PORT = "MFE_LOCAL_PROXY_PORT"
APP_PORT = "MFE_APP_PORT"
BYPASS_SECRET = "VERCEL_AUTOMATION_BYPASS_SECRET"
BYPASS_HEADER = "x-vercel-protection-bypass"

# JavaScript's parseInt: leading white space, a sign, then hexadecimal after "0x" or decimal digits.
_JS_INTEGER = re.compile(r"[\s\ufeff]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|([0-9]+))")


@dataclass(frozen=True, slots=True)
class Environment:
    variables: Mapping[str, str]

    @classmethod
    def read(cls, directory: Path, process: Mapping[str, str]) -> "Environment":
        variables: dict[str, str] = {}
        for name in reversed(ENV_FILES):
            path = directory / name
            if path.is_file():
                variables.update((k, v) for k, v in dotenv_values(path).items() if v is not None)
        variables.update(process)
        return cls(variables)

    def proxy_port(self, configured: int) -> int:
        """`MFE_LOCAL_PROXY_PORT` when it is a port number, else the config's."""
        return _port(self.variables.get(PROXY_PORT)) or configured

    def app_port(self, local: int) -> int | None:
        """`MFE_APP_PORT` for the one local application (`local` is how many run locally); Vercel
        refuses the variable, even an invalid one, beside several local applications."""
        value = self.variables.get(APP_PORT)
        if value is None:
            return None
        if local > 1:
            raise MfeError(
                f"{APP_PORT} cannot be used when several applications run locally ({local} here); run one "
                f"application locally (mfe_local_apps=NAME) or unset {APP_PORT}"
            )
        return _port(value)

    def bypass_secret(self, application: str) -> tuple[str, str] | None:
        """The protection bypass secret for `application`'s fallback, and the variable that holds it;
        None when there is none (an empty per-application variable turns it off, as on Vercel)."""
        name = bypass_variable(application)
        value = self.variables.get(name)
        if value is None:
            name, value = BYPASS_SECRET, self.variables.get(BYPASS_SECRET)
        return (value, name) if value else None


def bypass_variable(application: str) -> str:
    """`AUTOMATION_BYPASS_` and the application's name in upper case, with each UTF-16 code unit that
    is not an ASCII letter or digit written `_`, as Vercel names it."""
    units = "".join(
        char if char.isascii() and char.isalnum() else "_" * (2 if ord(char) > 0xFFFF else 1)
        for char in application.upper()
    )
    return f"AUTOMATION_BYPASS_{units}"


def _port(value: str | None) -> int | None:
    """A port number as `parseInt` reads `value`, or None when it is not one (1 to 65535)."""
    found = _JS_INTEGER.match(value) if value is not None else None
    if found is None:
        return None
    sign, hexadecimal, decimal = found.groups()
    number = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return number if sign != "-" and 0 < number < 65536 else None
