"""What the nginx export answers by itself, as the proxy does: the routing table, refusals, redirects
and the page for an application that is down. Each answer is a named location that `$mfe_answer` or
`$mfe_unreachable` points nginx's `error_page` at.

Pages are written ahead of time with placeholders where the request's own data goes (method, path,
host), which become nginx variables. A path is written into an HTML page only when it holds no
character HTML would need escaped: nginx cannot escape a variable.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mfe_proxy import pages
from mfe_proxy.model import Origin
from mfe_proxy.nginx.maps import Writer, map_block, quote, regex_key, value
from mfe_proxy.nginx.routing import App

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
# nginx reads a configuration in 4 KiB pieces and refuses a longer string: longer bodies are split
# into maps of at most this many characters, joined in the `return`.
_CHUNK = 3000
# Each as `${name}`, so that no text right after it can run into the variable's name.
_PLACEHOLDERS = {
    "\0METHOD": "${request_method}",
    "\0PATHNAME": "${mfe_pathname}",
    "\0PATH": "${request_uri}",
    "\0HTMLPATH": "${mfe_html_uri}",
    "\0HOST": "${host}",
    "\0ORIGIN": "${http_origin}",
    "\0LOCATION": "${mfe_redirect}",
}
# Longest first, so that a placeholder is never read as a shorter one and some text.
_PLACEHOLDER = re.compile("(" + "|".join(map(re.escape, sorted(_PLACEHOLDERS, key=len, reverse=True))) + ")")
# What the HTML pages show instead of a path they cannot show safely.
UNSHOWN_PATH = "(this path)"


@dataclass(frozen=True, slots=True)
class Answer:
    location: str  # a named location, `@mfe_...`
    status: int
    content_type: str | None
    text: str  # the body, placeholders for the request's data


def answers(config_file: str, apps: Sequence[App], server_names: Sequence[str], steps: int) -> list[Answer]:
    """Every answer of the export: the down pages of applications without a fallback included."""
    found = [
        Answer("@mfe_routing", 200, JSON, _routing_table(apps)),
        Answer("@mfe_redirect", 307, None, "\0LOCATION"),
        _text("@mfe_no_host", 400, "mfe-proxy cannot serve a request with no Host header"),
        _text("@mfe_bad_host", 400, "mfe-proxy cannot serve a request with Host '\0HOST'"),
        _text("@mfe_bad_target", 400, "the request target must be a path starting with /"),
        _text(
            "@mfe_bad_origin",
            403,
            "mfe-proxy refuses WebSocket connections from pages on \0ORIGIN: a page on another site must not "
            "open connections to your dev servers. If it is yours, export the configuration again with "
            "--server-name and its host.",
        ),
        _text(
            "@mfe_unresolved", 400, f"this nginx export resolves at most {steps} dot segments and backslashes"
        ),
        _text("@mfe_not_allowed", 405, "\0PATHNAME answers GET and HEAD only"),
        _text(
            "@mfe_no_endpoint",
            404,
            "mfe-proxy's nginx export has no endpoint \0PATHNAME: the status and metrics endpoints, with "
            "their live counters, are the proxy's own",
        ),
    ]
    names = ", ".join(["localhost", "127.0.0.1", "[::1]", "*.localhost", *server_names])
    lines = [
        "This server does not serve the host \0HOST.",
        f"It answers only for {names}, so that a web page on another site cannot reach your applications by "
        "pointing its own host name at this machine (DNS rebinding).",
        "If you use \0HOST yourself, export the configuration again with --server-name \0HOST.",
    ]
    for kind in ("html", "text"):
        page = _page(403, "Host \0HOST is not allowed", lines, kind == "html")
        found.append(Answer(f"@mfe_forbidden_host_{kind}", 403, page.content_type, page.body.decode()))
    for app in apps:
        if app.fallback is None:
            for kind in ("html", "text"):
                # Any method but GET: the proxy's page then has no waiting script, which would ask the
                # status endpoint, and nginx has none.
                path = "\0HTMLPATH" if kind == "html" else "\0PATH"
                page = pages.application_down(
                    app.app, app.upstream, "\0METHOD", path, config_file, kind == "html"
                )
                found.append(Answer(f"@mfe_down_{app.id}_{kind}", 502, page.content_type, page.body.decode()))
    return found


def _routing_table(apps: Sequence[App]) -> str:
    targets: dict[str, Origin] = {app.name: app.upstream for app in apps}
    return pages.routing_table(targets).body.decode()


def _text(location: str, status: int, text: str) -> Answer:
    return Answer(location, status, TEXT, text + "\n")


def _page(status: int, title: str, lines: list[str], wants_html: bool) -> pages.Page:
    """A page in the form `pages` gives the proxy's own, plain text or HTML."""
    if not wants_html:
        return pages.Page(status, TEXT, "\n".join(lines).encode() + b"\n")
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    body = (
        f'<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{paragraphs}\n"
        f"<p><small>mfe-proxy · {status}</small></p>\n</body>\n</html>\n"
    )
    return pages.Page(status, pages.HTML, body.encode())


def _pieces(text: str) -> list[str]:
    """`text` as the insides of quoted nginx values of at most `_CHUNK` characters each, placeholders
    replaced by their variables and never cut."""
    pieces = [""]
    for part in _PLACEHOLDER.split(text):
        atoms = [_PLACEHOLDERS[part]] if part in _PLACEHOLDERS else [value(char)[1:-1] for char in part]
        for atom in atoms:
            if len(pieces[-1]) + len(atom) > _CHUNK:
                pieces.append("")
            pieces[-1] += atom
    return pieces


def write_body_maps(w: Writer, found: Sequence[Answer]) -> dict[str, str]:
    """The `return` value of each answer; a long body is split into maps written here, in the `http`
    block, since nginx refuses a string over 4 KiB."""
    w.comment("Paths go into HTML pages only when they hold nothing HTML would need escaped.")
    map_block(
        w,
        "$request_uri",
        "mfe_html_uri",
        [(regex_key("^[^<>&\"']*$"), "$request_uri"), ("default", quote(UNSHOWN_PATH))],
    )
    bodies = {}
    for answer in found:
        pieces = _pieces(answer.text)
        if len(pieces) == 1:
            bodies[answer.location] = f'"{pieces[0]}"'
            continue
        name = answer.location.removeprefix("@")
        for index, piece in enumerate(pieces):
            map_block(w, '""', f"{name}_{index}", [("default", f'"{piece}"')])
        bodies[answer.location] = '"' + "".join(f"${{{name}_{index}}}" for index in range(len(pieces))) + '"'
    w.line()
    return bodies


def write_answer_locations(w: Writer, found: Sequence[Answer], bodies: dict[str, str]) -> None:
    """A named location per answer, with the headers of the proxy's own pages: they describe this
    moment, so they are never cached."""
    for answer in found:
        with w.block(f"location {answer.location}"):
            if answer.content_type:
                w.line(f"default_type {quote(answer.content_type)};")
            w.line('add_header Cache-Control "no-store" always;')
            w.line('add_header X-Content-Type-Options "nosniff" always;')
            w.line(f"return {answer.status} {bodies[answer.location]};")
