"""The `mfe-proxy` command (`python -m mfe_proxy`; scripts/mfe-proxy from a checkout).

mfe-proxy [--web] [mitmdump or mitmweb arguments ...]
mfe-proxy addon-path
mfe-proxy export nginx [--config FILE] [--listen HOST:PORT] [--upstream NAME=URL ...] ...
mfe-proxy --help | --version
"""

import importlib.metadata
import os
import platform
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

# The mitmproxy script (`mitmdump -s`): addon/mfe_router.py in a checkout, installed beside the package.
ADDON = Path(__file__).resolve().parent.parent / "mfe_router.py"
WEB_FLAG = "--web"
HELP_FLAGS = ("-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["export"]:
        from mfe_proxy.nginx import command

        return command.main(args[1:])
    if any(arg in HELP_FLAGS for arg in args):
        return _say(help_text())
    if "--version" in args:
        return _say(version_text())
    if args[:1] == ["addon-path"]:
        return _say(str(ADDON))
    if __debug__ and "MFE_PROXY_NO_OPTIMIZE" not in os.environ:
        # mitmproxy's debug-only checks cost about a sixth of its CPU per request (docs/BENCHMARKS.md).
        os.execv(sys.executable, [sys.executable, "-O", "-m", "mfe_proxy", *args])
    from mfe_proxy import launcher  # mitmproxy's import takes a while: not for --help and --version

    sys.argv[0] = "mfe-proxy"  # mitmproxy names the program in its messages
    tool, rest = split_arguments(args)
    return launcher.launch(tool == "mitmweb", without_addon(rest))


def split_arguments(argv: Sequence[str]) -> tuple[str, list[str]]:
    """The tool to run (`mitmdump`, or `mitmweb` for `--web`) and the arguments for it."""
    tool = "mitmweb" if WEB_FLAG in argv else "mitmdump"
    return tool, [arg for arg in argv if arg != WEB_FLAG]


def without_addon(args: Sequence[str], addon: Path = ADDON) -> list[str]:
    """`args` without `-s <addon>` in any form argparse accepts: the launcher loads the addons itself,
    and loading them twice would register two proxies."""
    kept: list[str] = []
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in ("-s", "--scripts") and index + 1 < len(args) and _is_addon(args[index + 1], addon):
            skip = True
            continue
        if arg.startswith("--scripts=") and _is_addon(arg.partition("=")[2], addon):
            continue
        if arg.startswith("-s") and not arg.startswith("--") and len(arg) > 2 and _is_addon(arg[2:], addon):
            continue
        kept.append(arg)
    return kept


def _say(text: str) -> int:
    try:
        print(text)
    except BrokenPipeError:  # `mfe-proxy --help | head`: what was read is all that is wanted
        # Python flushes stdout once more at exit: into nothing, rather than into the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _is_addon(script: str, addon: Path) -> bool:
    return Path(script).expanduser().resolve() == addon


def version_text() -> str:
    return (
        f"mfe-proxy {importlib.metadata.version('mfe-proxy')} (mitmproxy "
        f"{importlib.metadata.version('mitmproxy')}, Python {platform.python_version()})"
    )


def help_text() -> str:
    from mfe_proxy.addons import declared_options

    options = "\n".join(
        f"  --set {option.name}={_shown(option.default)}\n"
        + textwrap.fill(option.help, 100, initial_indent="      ", subsequent_indent="      ")
        for option in declared_options()
    )
    return f"""usage: mfe-proxy [--web] [mitmdump arguments ...]
       mfe-proxy addon-path
       mfe-proxy export nginx [--config FILE] [--listen HOST:PORT] [--upstream NAME=URL ...]
                              [--server-name NAME ...] [--standalone]
       mfe-proxy --help | --version

mfe-proxy serves every application of a microfrontends.json (Vercel's format) from one origin,
http://localhost:<options.localProxyPort>, routing each request and WebSocket to the application's
dev server. It runs mitmdump with mfe-proxy's addons, set up before anything listens.

  --web         mitmweb instead of mitmdump: the proxy, and mitmproxy's web UI to inspect its flows
  addon-path    print the path of the mitmproxy script, for `mitmdump -s "$(mfe-proxy addon-path)"`
  export nginx  the same routing as an nginx configuration, for a shared preview machine
                (`mfe-proxy export nginx --help` says more)
  --version     mfe-proxy's, mitmproxy's and Python's versions

mfe-proxy's options (their defaults shown):
{options}

Every other argument is mitmdump's (mitmweb's with --web) and wins over what mfe-proxy sets:
`--set listen_port=4000`, `--mode ...`, `-v`. `mitmdump --help` lists them. The config is the first
of microfrontends.json, .jsonc, .yaml and .yml in this folder, unless --set mfe_config=PATH names one."""


def _shown(default: object) -> str:
    return str(default).lower() if isinstance(default, bool) else str(default) or "''"
