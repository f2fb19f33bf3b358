"""`mfe-proxy export nginx`: the config read and checked as the proxy reads it, written out by
`export.render` to standard output; problems to standard error with a non-zero exit."""

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mfe_proxy import startup
from mfe_proxy.errors import MfeError
from mfe_proxy.nginx.export import parse_listen, parse_upstream, render


def main(argv: Sequence[str]) -> int:
    """`argv`: what follows `mfe-proxy export`."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.prefix is not None and not (args.standalone and Path(args.prefix).is_absolute()):
        parser.error("--prefix takes an absolute folder, and only with --standalone")
    try:
        upstreams = dict(parse_upstream(text) for text in args.upstream)
        listen = parse_listen(args.listen) if args.listen else None
        # As the proxy reads it: the same file lookup, checks, .env files and environment variables.
        setup = startup.load(args.config or "", "", Path.cwd(), os.environ)
        for warning in setup.config.warnings:
            print(f"{setup.config.file}: {warning}", file=sys.stderr)
        text = render(
            setup.config,
            listen=listen or ("127.0.0.1", setup.proxy_port),
            upstreams=upstreams,
            server_names=args.server_name,
            standalone=args.standalone,
            prefix=args.prefix,
            resolver=args.resolver,
        )
    except MfeError as error:
        print(f"mfe-proxy cannot export: {error}", file=sys.stderr)
        return 1
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `mfe-proxy export nginx | head`: what was read is all that is wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfe-proxy export",
        description="Write the proxy's routing as a configuration for another server.",
    )
    engines = parser.add_subparsers(dest="engine", required=True, metavar="nginx")
    nginx = engines.add_parser(
        "nginx",
        help="an nginx configuration, to standard output",
        description="An nginx configuration that routes as mfe-proxy does, to standard output: by default "
        "the server block and the map and upstream blocks it needs, for the http block of an existing "
        "nginx; with --standalone a whole nginx.conf for `nginx -p DIR -c FILE`.",
    )
    nginx.add_argument(
        "--config",
        metavar="FILE",
        help="the config; default: microfrontends.json (.jsonc, .yaml, .yml) in the current folder",
    )
    nginx.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="where nginx listens; default: 127.0.0.1 and the config's localProxyPort",
    )
    nginx.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="serve application NAME from URL instead of its development.local (repeatable), e.g. "
        "docs=http://docs.preview.internal:3000",
    )
    nginx.add_argument(
        "--server-name",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name served besides localhost and 127.0.0.1 (repeatable): preview.example.com, "
        "*.example.com, or * for any",
    )
    nginx.add_argument("--standalone", action="store_true", help="a whole nginx.conf (daemon off)")
    nginx.add_argument(
        "--prefix",
        metavar="DIR",
        help="with --standalone: the absolute folder for the pid file, logs and temporary files; "
        "default: nginx's -p DIR",
    )
    nginx.add_argument(
        "--resolver",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a DNS server nginx asks on each request for the host names of fallbacks and remote "
        "upstreams (repeatable); without, nginx resolves them once when it starts",
    )
    return parser
