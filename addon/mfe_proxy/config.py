"""Loading and validating `microfrontends.json` (Vercel's format, also read by Turborepo).

Everything wrong with a file is reported at once, each problem with its field path
(`applications.docs.routing[0].paths[1]`) and a sentence a person can act on. Loading raises nothing
but `ConfigError`, whatever the bytes on disk.
"""

import hashlib
import ipaddress
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import yaml

from mfe_proxy import jsonc
from mfe_proxy.errors import MfeError, PathPatternError, quote
from mfe_proxy.patterns import PathPattern, compile_pattern, find_overlap

CONFIG_FILE_NAMES = (
    "microfrontends.json",
    "microfrontends.jsonc",
    "microfrontends.yaml",
    "microfrontends.yml",
)
DEFAULT_PROXY_PORT = 3024

# Keys that Turborepo's format defines for other tools: accepted and ignored (Vercel refuses them).
_IGNORED_APPLICATION_KEYS = frozenset({"production", "vercel", "projectId"})
# The names Vercel and Turborepo look for; any other is read here but not on a deploy.
_DEPLOYED_FILE_NAMES = frozenset(CONFIG_FILE_NAMES[:2])
_ASSET_PREFIX = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?")


class ConfigProblem(NamedTuple):
    """One thing wrong with a config: where (a field path, or a line and column) and what."""

    where: str
    message: str


class ConfigError(MfeError):
    """A config that cannot be used; `str()` names the file and lists every problem."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = tuple(problems)
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"{where}: {message}" if where else message for where, message in self.problems]
        if len(lines) == 1:
            return f"{self.file}: {lines[0]}"
        return f"{self.file}: {len(lines)} problems:\n" + "\n".join(f"  - {line}" for line in lines)


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port of an upstream or a fallback."""

    scheme: str
    host: str
    port: int

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"


@dataclass(frozen=True, slots=True)
class Route:
    """One routing group of an application: its path patterns, and the flag that gates them, if any."""

    paths: tuple[PathPattern, ...]
    group: str | None = None
    flag: str | None = None


@dataclass(frozen=True, slots=True)
class Application:
    name: str
    upstream: Origin
    fallback: Origin | None
    routes: tuple[Route, ...]
    # The first is the prefix the application's assets are built with; all are routed to it.
    asset_prefixes: tuple[str, ...]
    package_name: str | None = None
    task: str | None = None
    # The one application without `routing`: it serves every path no other application claims.
    is_default: bool = False
    # A child application without a fallback of its own has the default application's.
    inherits_fallback: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    file: str
    applications: Mapping[str, Application]
    default_application: Application
    proxy_port: int = DEFAULT_PROXY_PORT
    version: str | None = None
    # What the file does that Vercel would not (refuse it on deploy, or read it other than meant),
    # each "field path: what and why"; the proxy logs them with the file's name.
    warnings: tuple[str, ...] = field(default=())

    def routing_order(self) -> list[Application]:
        """The child applications in the order Vercel's proxy tries their paths: JavaScript's order of
        an object's keys, which puts names that are array indices ("2024") first, in numeric order,
        and the others as written in the file. The order decides only where paths overlap."""
        children = [app for app in self.applications.values() if not app.is_default]
        return sorted(children, key=lambda app: _array_index(app.name))


_MAX_ARRAY_INDEX = 2**32 - 2


def _array_index(name: str) -> tuple[bool, int]:
    """Sort key for JavaScript's key order: (False, index) for an array index, (True, 0) otherwise."""
    if name.isascii() and name.isdecimal() and (name == "0" or not name.startswith("0")):
        index = int(name)
        if index <= _MAX_ARRAY_INDEX:
            return False, index
    return True, 0


class _Object(dict[str, Any]):
    """A parsed mapping that remembers keys the file repeated (JSON and YAML parsers keep the last)."""

    repeated: tuple[str, ...] = ()


def _object_from_pairs(pairs: list[tuple[Any, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[Any] = set()
        obj.repeated = tuple(str(k) for k, _ in pairs if k in seen or seen.add(k))
    return obj


_YAML_INT_LIMIT = 32  # characters of an integer in a YAML file, sign and base prefix included


class _YamlLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Object:
        self.flatten_mapping(node)
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "a key must be a name, not a list or mapping",
                    key.start_mark,
                )
        pairs = [
            (self.construct_object(key, deep=deep), self.construct_object(value, deep=deep))
            for key, value in node.value
        ]
        if any(not isinstance(key, str) for key, _ in pairs):
            # Only string keys are meaningful; a number or date as a key is reported as text.
            pairs = [(str(key), value) for key, value in pairs]
        return _object_from_pairs(pairs)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # Binary, hexadecimal and base-60 integers can have more digits than int-to-text conversion
        # allows (4300), so a message could not show them; no field takes a number near that size.
        if len(node.value) > _YAML_INT_LIMIT:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number of more than {_YAML_INT_LIMIT} characters is too large",
                node.start_mark,
            )
        return super().construct_yaml_int(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:map", _YamlLoader.construct_mapping)
_YamlLoader.add_constructor("tag:yaml.org,2002:int", _YamlLoader.construct_yaml_int)


# ---------------------------------------------------------------------------------------------------
# Ports and asset prefixes derived from an application's name, exactly as Vercel and Turborepo do.


def generated_port(name: str) -> int:
    """The development port of an application that does not name one: JavaScript's 32-bit
    `hash = hash * 31 + charCode` over the name's UTF-16 code units, then 3000 + |hash| % 5000."""
    data = name.encode("utf-16-le", "surrogatepass")
    value = 0
    for i in range(0, len(data), 2):
        value = (value * 31 + int.from_bytes(data[i : i + 2], "little")) & 0xFFFFFFFF
    signed = value - (1 << 32) if value & 0x80000000 else value
    return 3000 + abs(signed) % 5000


def default_asset_prefix(name: str) -> str:
    return "vc-ap-" + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:6]


# ---------------------------------------------------------------------------------------------------
# Reading files.


def find_config(directory: Path) -> Path:
    """The config file in `directory`, trying the names in `CONFIG_FILE_NAMES` in order."""
    for name in CONFIG_FILE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    names = ", ".join(CONFIG_FILE_NAMES)
    raise ConfigError(
        str(directory),
        [ConfigProblem("", f"no config file here (looked for {names}); pass the path with mfe_config")],
    )


def load_config(path: Path | None = None, directory: Path | None = None) -> Config:
    """Load the config at `path`, or the one found in `directory` (default: the working directory)."""
    if path is None:
        path = find_config(directory or Path.cwd())
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(str(path), [ConfigProblem("", f"cannot read the file: {error.strerror}")]) from None
    return parse_config(data, str(path))


def parse_config(data: bytes, file: str) -> Config:
    """Parse and validate the bytes of a config file; `file` names it in messages and picks the
    format (YAML for `.yaml`/`.yml`, JSONC, of which JSON is a part, for any other name)."""
    document = _parse_document(data, file)
    problems = list(_lone_surrogates(document))
    if problems:
        raise ConfigError(file, problems)
    return _Validator(file).config(document)


_EMPTY = ConfigProblem("", "the file is empty; it needs an `applications` object")


def _parse_document(data: bytes, file: str) -> Any:
    if file.endswith((".yaml", ".yml")):
        try:
            document = yaml.load(data, Loader=_YamlLoader)
        except yaml.reader.ReaderError as error:
            raise ConfigError(file, [_unreadable_yaml(error)]) from None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(
                file, [ConfigProblem(where, f"YAML syntax error: {error.problem or error.context}")]
            ) from None
        except (yaml.YAMLError, ValueError) as error:  # ValueError: a date such as 2024-02-30
            raise ConfigError(file, [ConfigProblem("", f"not valid YAML: {error}")]) from None
        except RecursionError:
            raise ConfigError(file, [ConfigProblem("", "not valid YAML: nested too deeply")]) from None
        # An empty file, or one of only comments, holds no document.
        if document is None:
            raise ConfigError(file, [_EMPTY])
        return document
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problem = ConfigProblem("", f"not UTF-8 text (byte {error.start} cannot be decoded); {_SAVE_AS_UTF8}")
        raise ConfigError(file, [problem]) from None
    if not text.strip():
        raise ConfigError(file, [_EMPTY])
    try:
        return jsonc.loads(text, object_pairs_hook=_object_from_pairs)
    except jsonc.JsoncSyntaxError as error:
        where = f"line {error.line}, column {error.column}"
        raise ConfigError(file, [ConfigProblem(where, f"JSON syntax error: {error.message}")]) from None


_SAVE_AS_UTF8 = "save the file as UTF-8"


def _unreadable_yaml(error: yaml.reader.ReaderError) -> ConfigProblem:
    """PyYAML's own text for these mixes up bytes it cannot decode with characters YAML forbids."""
    if error.encoding != "unicode":
        return ConfigProblem(
            "",
            f"not {error.encoding.upper()} text (byte {error.position} cannot be decoded); {_SAVE_AS_UTF8}",
        )
    return ConfigProblem(
        "",
        f"YAML syntax error: the character U+{error.character:04X} (character {error.position} of the "
        f"file) is not allowed in YAML; is the file binary, or not UTF-8 text?",
    )


def _lone_surrogates(document: Any) -> Iterator[ConfigProblem]:
    """Keys and strings holding a lone UTF-16 surrogate (an unpaired `\\ud800` escape, which JSON
    and YAML let through): not text, so no name, host or message can carry one, and Turborepo's
    parser refuses them too. Each list or mapping is visited once: YAML aliases can share them,
    even recursively."""
    seen: set[int] = set()
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            yield ConfigProblem(where, f"{quote(value)} {_SURROGATE_PROBLEM}")
        elif isinstance(value, dict | list) and id(value) not in seen:
            seen.add(id(value))
            items = list(value.items() if isinstance(value, dict) else enumerate(value))
            for key, item in reversed(items):
                if isinstance(key, str) and _SURROGATE.search(key):
                    yield ConfigProblem(_child(where, key), f"the key {quote(key)} {_SURROGATE_PROBLEM}")
                pending.append((_child(where, key), item))


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PROBLEM = (
    "holds a lone surrogate escape, which is not valid Unicode text; escape the whole character "
    '(e.g. "\\ud83d\\ude00" for U+1F600) or write it as it is'
)


# ---------------------------------------------------------------------------------------------------
# Validation.


def _child(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if re.fullmatch(r"[A-Za-z_$][\w$-]*", key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{quote(key)}]"


def _type_name(value: Any) -> str:
    # JSON's 3000.5 and 3000.0 are floats; no field takes one, and "a number" would not say why.
    names = {bool: "a boolean", int: "a number", float: "a decimal number", str: "a string", list: "a list"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), type(value).__name__)


class _Validator:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ConfigProblem] = []
        self.claims: list[_Claim] = []
        self.overlaps: list[tuple[_Claim, _Claim, str | None]] = []  # that start, for a warning
        self.warnings: list[str] = []
        # Which applications are children is known from the `routing` key, even when its value is
        # wrong; an entry that is not an object at all could be either.
        self.children: set[str] = set()
        self.unreadable_applications = False

    def problem(self, where: str, message: str) -> None:
        self.problems.append(ConfigProblem(where, message))

    def warning(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}" if where else message)

    def vercel_refuses(self, where: str, what: str, why: str) -> None:
        """Something this proxy serves but Vercel refuses: said at start-up, not found at deploy."""
        self.warning(where, f"{what}; Vercel refuses this config ({why}), so a deploy with it fails")

    def expect(self, value: Any, kind: type, where: str, description: str) -> bool:
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.problem(where, f"must be {description}, not {_type_name(value)}")
        return ok

    def keys(self, obj: _Object, where: str, known: frozenset[str], ignored: frozenset[str]) -> None:
        for key in obj.repeated:
            self.problem(_child(where, key), "appears more than once; keep one")
        for key in obj:
            if key not in known and key not in ignored:
                allowed = ", ".join(sorted(known))
                self.problem(_child(where, key), f"unknown key (expected one of: {allowed})")

    def string(self, obj: _Object, key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is None or not self.expect(value, str, _child(where, key), "a string"):
            return None
        if not value.strip():
            self.problem(_child(where, key), "must not be empty")
            return None
        return value

    # -- top level --------------------------------------------------------------------------------

    def config(self, document: Any) -> Config:
        if not isinstance(document, dict):
            raise ConfigError(
                self.file,
                [ConfigProblem("", f"the top level must be an object, not {_type_name(document)}")],
            )
        if "partOf" in document:
            owner = document["partOf"]
            # Only a string names a package; anything else is shown by its type.
            package = (
                quote(owner) if isinstance(owner, str) else f"that partOf names ({_type_name(owner)} here)"
            )
            raise ConfigError(
                self.file,
                [
                    ConfigProblem(
                        "partOf",
                        f"this is a child config: the routing lives in the microfrontends.json of the "
                        f"package {package}; run the proxy with that file (mfe_config=PATH)",
                    )
                ],
            )
        self.keys(document, "", frozenset({"$schema", "version", "options", "applications"}), frozenset())
        if Path(self.file).name not in _DEPLOYED_FILE_NAMES:
            self.warning(
                "",
                "Vercel and Turborepo read only microfrontends.json or microfrontends.jsonc; a deploy does "
                "not find this file: rename it, or keep a JSON copy",
            )
        if "$schema" in document:
            self.expect(document["$schema"], str, "$schema", "a string (the schema's URL)")
        version = self.version(document.get("version"))
        proxy_port = self.options(document.get("options"))
        applications = self.applications(document.get("applications"))
        default = self.default_application(applications)
        if self.problems or default is None:
            raise ConfigError(self.file, self.problems)
        return Config(
            file=self.file,
            applications=applications,
            default_application=default,
            proxy_port=proxy_port,
            version=version,
            warnings=tuple(self.warnings),
        )

    def version(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # YAML reads `version: 1` as a number
        if not self.expect(value, str, "version", 'a string such as "1"'):
            return None
        if value != "1":
            self.vercel_refuses("version", f'{quote(value)} is read as "1"', 'its schema allows "1" only')
        return value

    def options(self, value: Any) -> int:
        if value is None or not self.expect(value, dict, "options", "an object"):
            return DEFAULT_PROXY_PORT
        self.keys(value, "options", frozenset({"localProxyPort", "disableOverrides"}), frozenset())
        if "disableOverrides" in value:
            self.expect(value["disableOverrides"], bool, "options.disableOverrides", "true or false")
        port = value.get("localProxyPort")
        if port is None or not self.expect(port, int, "options.localProxyPort", "a port number"):
            return DEFAULT_PROXY_PORT
        return self.port(port, "options.localProxyPort")

    # -- applications -----------------------------------------------------------------------------

    def applications(self, value: Any) -> dict[str, Application]:
        if value is None:
            self.problem("applications", 'is missing: list the applications, e.g. {"web": {}}')
            return {}
        if not self.expect(value, dict, "applications", "an object of application names"):
            return {}
        for key in value.repeated:
            self.problem(_child("applications", key), "appears more than once; keep one")
        if not value:
            self.problem("applications", "is empty: list at least the default application")
        parsed = {}
        for name, spec in value.items():
            where = _child("applications", name)
            if not name.strip():
                self.problem(where, "an application name must not be empty")
                self.unreadable_applications = True
            elif self.expect(spec, dict, where, "an object"):
                parsed[name] = self.application(name, spec, where)
            else:
                self.unreadable_applications = True
        fallback = next((app.fallback for app in parsed.values() if app.is_default), None)
        if fallback is not None:
            # A child application without a fallback of its own uses the default application's.
            parsed = {
                name: app
                if app.fallback or app.is_default
                else replace(app, fallback=fallback, inherits_fallback=True)
                for name, app in parsed.items()
            }
        self.check_overlaps()
        self.warn_overlaps(parsed)
        self.check_asset_prefixes(parsed)
        return parsed

    def application(self, name: str, spec: _Object, where: str) -> Application:
        self.keys(
            spec,
            where,
            frozenset({"packageName", "development", "routing", "assetPrefix"}),
            _IGNORED_APPLICATION_KEYS,
        )
        for key in _IGNORED_APPLICATION_KEYS.intersection(spec):
            self.vercel_refuses(
                _child(where, key),
                "is Turborepo's and ignored here",
                f"\"Property '{key}' is not allowed in field applications/{name}\"",
            )
        if "routing" in spec:
            self.children.add(name)
        else:
            self.default_development(name, spec.get("development"), where)
        package_name = self.string(spec, "packageName", where)
        upstream, fallback, task = self.development(
            name, spec.get("development"), _child(where, "development")
        )
        routes = (
            self.routing(name, spec.get("routing"), _child(where, "routing")) if "routing" in spec else ()
        )
        asset_prefixes = self.asset_prefixes(name, spec, where, routes if "routing" in spec else None)
        return Application(
            name, upstream, fallback, routes, asset_prefixes, package_name, task, "routing" not in spec
        )

    def default_development(self, name: str, value: Any, where: str) -> None:
        """Vercel's schema requires a `development` with a `fallback` of the default application."""
        if value is None:
            self.vercel_refuses(
                where,
                "the default application has no `development`",
                f"\"Property 'development' is required in field applications/{name}\"",
            )
        elif isinstance(value, dict) and "fallback" not in value:
            self.vercel_refuses(
                _child(where, "development"),
                "the default application has no `fallback`",
                f"\"Property 'fallback' is required in field applications/{name}/development\"",
            )

    def development(self, name: str, value: Any, where: str) -> tuple[Origin, Origin | None, str | None]:
        upstream = Origin("http", "localhost", generated_port(name))
        if value is None or not self.expect(value, dict, where, "an object"):
            return upstream, None, None
        if "localPort" in value:
            self.problem(
                _child(where, "localPort"), "was renamed to `local` (Vercel's format since 1.2.0); rename it"
            )
        self.keys(value, where, frozenset({"local", "fallback", "task"}), frozenset({"localPort"}))
        if "local" in value:
            upstream = self.local(name, value["local"], _child(where, "local")) or upstream
        fallback = (
            self.fallback(value["fallback"], _child(where, "fallback")) if "fallback" in value else None
        )
        return upstream, fallback, self.string(value, "task", where)

    def local(self, name: str, value: Any, where: str) -> Origin | None:
        if isinstance(value, dict):
            return self.local_object(name, value, where)
        if isinstance(value, int) and not isinstance(value, bool):
            return Origin("http", "localhost", self.port(value, where))
        if not isinstance(value, str):
            self.problem(
                where, f'must be a port, a host, host:port, a URL or {{"port": ...}}, not {_type_name(value)}'
            )
            return None
        digits = value.strip()
        if digits.isdecimal() and value.isascii():
            if len(digits.lstrip("0")) > 5:
                # Out of range, and int() refuses text of more than 4300 digits.
                self.problem(where, f"{quote(value)} is not a port number (1 to 65535)")
                return None
            return Origin("http", "localhost", self.port(int(digits), where))
        origin = self.origin(
            value, "http", where, example="localhost:3000", default_port=generated_port(name)
        )
        if origin is not None and origin.port == (443 if origin.scheme == "https" else 80):
            # Vercel's URL parser drops a scheme's own port, and the generated one applies instead.
            origin = replace(origin, port=generated_port(name))
            self.warning(
                where,
                f"{quote(value)} names its scheme's default port, which Vercel reads as no port at all: the "
                f"application is expected on the port generated from its name, {origin.port}, as on Vercel; "
                "leave the port out to say so, or run the application on another port",
            )
        return origin

    def local_object(self, name: str, value: _Object, where: str) -> Origin | None:
        self.keys(value, where, frozenset({"port", "host", "protocol"}), frozenset())
        self.vercel_refuses(
            where,
            "the object form is Turborepo's",
            'its schema takes a number or a string, such as "https://127.0.0.1:3001"',
        )
        port = value.get("port")
        if port is not None and self.expect(port, int, _child(where, "port"), "a port number"):
            self.port(port, _child(where, "port"))
        host = self.string(value, "host", where)
        if host is not None:
            host = host.strip()
            bracketed = host.startswith("[") and host.endswith("]")
            host = host[1:-1] if bracketed else host
            if not _valid_host(host, bracketed):
                self.problem(
                    _child(where, "host"), f"{quote(value['host'])} is not a host name or IP address"
                )
        protocol = self.string(value, "protocol", where)
        if protocol is not None and protocol not in ("http", "https"):
            self.problem(_child(where, "protocol"), f'must be "http" or "https", not {quote(protocol)}')
        return Origin(protocol or "http", (host or "localhost").lower(), port or generated_port(name))

    def port(self, value: int, where: str) -> int:
        if not 0 < value < 65536:
            self.problem(where, f"{value} is not a port number (1 to 65535)")
        return value

    def fallback(self, value: Any, where: str) -> Origin | None:
        if not self.expect(value, str, where, 'a host or URL such as "my-app.vercel.app"'):
            return None
        return self.origin(value, "https", where, example="my-app.vercel.app", default_port=None)

    def origin(
        self, value: str, scheme: str, where: str, example: str, default_port: int | None
    ) -> Origin | None:
        """A host, host:port or URL that names an origin and nothing more. Without a port,
        `default_port` or else the scheme's."""
        text = value.strip()
        try:
            parts = urlsplit(text if "://" in text else f"{scheme}://{text}")
            port = parts.port
        except ValueError as error:
            self.problem(where, f"{quote(value)} is not a valid host or URL: {error}")
            return None
        if parts.scheme not in ("http", "https"):
            self.problem(where, f'{quote(value)}: the protocol must be http or https, not "{parts.scheme}"')
            return None
        bracketed = "[" in parts.netloc.rpartition("@")[2]
        if not parts.hostname or not _valid_host(parts.hostname, bracketed):
            self.problem(where, f"{quote(value)} has no valid host name")
            return None
        extra = [
            label
            for label, present in (
                ("a path", parts.path not in ("", "/")),
                ("a query", bool(parts.query)),
                ("a fragment", bool(parts.fragment)),
                ("credentials", parts.username is not None),
            )
            if present
        ]
        if extra:
            self.problem(
                where,
                f'{quote(value)} has {" and ".join(extra)}; write an origin only, like "{scheme}://{example}"',
            )
            return None
        if port is None:
            port = default_port or (443 if parts.scheme == "https" else 80)
        return Origin(parts.scheme, parts.hostname, self.port(port, where))

    def routing(self, name: str, value: Any, where: str) -> tuple[Route, ...]:
        if not self.expect(value, list, where, "a list of routing groups"):
            return ()
        if not value:
            self.warning(
                where,
                f"is empty, so {name} serves no paths (only its asset prefixes), as on Vercel; list a group "
                "with paths, or remove `routing` to make this the default application",
            )
        routes = []
        for index, group in enumerate(value):
            group_where = _child(where, index)
            if not self.expect(group, dict, group_where, 'an object such as {"paths": ["/docs/:path*"]}'):
                continue
            self.keys(group, group_where, frozenset({"group", "flag", "paths"}), frozenset())
            group_name = self.string(group, "group", group_where)
            flag = self.string(group, "flag", group_where)
            paths = group.get("paths")
            paths_where = _child(group_where, "paths")
            if paths is None:
                self.problem(paths_where, "is missing: list the path patterns this group routes")
                continue
            if not self.expect(paths, list, paths_where, "a list of path patterns"):
                continue
            if not paths:
                self.warning(paths_where, "is empty, so this group routes no paths, as on Vercel")
            routes.append(Route(tuple(self.patterns(name, paths, paths_where, flag)), group_name, flag))
        return tuple(routes)

    def patterns(
        self, application: str, paths: list[Any], where: str, flag: str | None
    ) -> Iterator[PathPattern]:
        for index, source in enumerate(paths):
            path_where = _child(where, index)
            if not self.expect(source, str, path_where, "a path pattern string"):
                continue
            try:
                pattern = compile_pattern(source)
            except PathPatternError as error:
                self.problem(path_where, str(error))
                continue
            for note in pattern.notes:
                self.warning(path_where, f"{quote(source)} {note}")
            self.claims.append(_Claim(application, path_where, pattern, flag))
            yield pattern

    def asset_prefixes(
        self, name: str, spec: _Object, where: str, routes: tuple[Route, ...] | None
    ) -> tuple[str, ...]:
        """`routes` is None for the default application."""
        empty = spec.get("assetPrefix") == "" and routes is not None
        value = "" if empty else self.string(spec, "assetPrefix", where)
        if routes is None:
            if value is not None:
                self.problem(
                    _child(where, "assetPrefix"),
                    "only child applications have an asset prefix; the default application serves / itself",
                )
            return ()
        if empty:
            # Vercel checks a prefix only when it is not empty, and then routes the root to it.
            self.warning(
                _child(where, "assetPrefix"),
                f'is empty, so "/" goes to {name}, as on Vercel; remove it, or give the prefix a name',
            )
        elif value is not None and not _ASSET_PREFIX.fullmatch(value):
            self.problem(
                _child(where, "assetPrefix"),
                f"{quote(value)} must be lowercase letters, digits and hyphens, starting with a letter "
                "and not ending with a hyphen",
            )
            value = None
        if value and value != f"vc-ap-{name}":
            self.asset_prefix_route(value, routes, _child(where, "assetPrefix"))
        # Vercel's proxy also routes the name-based and the hashed prefix of an application that
        # sets its own, so assets built before the prefix changed keep loading.
        prefixes = [value, default_asset_prefix(name), f"vc-ap-{name.lower()}"]
        return tuple(dict.fromkeys(p for p in prefixes if p is not None and "/" not in p))

    def asset_prefix_route(self, prefix: str, routes: tuple[Route, ...], where: str) -> None:
        """Vercel's deploy needs the prefix's path in an unflagged group, so that assets built with
        the prefix are served before and after it changes."""
        path = f"/{prefix}/:path*"
        if not any(p.source == path for route in routes if route.flag is None for p in route.paths):
            self.vercel_refuses(
                where,
                f"{quote(path)} is not among the application's unflagged paths",
                f'"When `assetPrefix` is specified, `{path}` must be added the routing paths for the '
                'application"',
            )

    def default_application(self, applications: Mapping[str, Application]) -> Application | None:
        defaults = [app for app in applications.values() if app.name not in self.children]
        if len(defaults) == 1:
            return defaults[0]
        if not defaults and applications and not self.unreadable_applications:
            self.problem(
                "applications",
                "no default application: exactly one application must have no `routing`; it serves every "
                "path that no other application claims",
            )
        elif len(defaults) > 1:
            names = ", ".join(app.name for app in defaults)
            self.problem(
                "applications",
                f"{len(defaults)} applications have no `routing` ({names}); exactly one (the default "
                "application) may omit it, give the others the paths they serve",
            )
        return None

    def check_overlaps(self) -> None:
        """Vercel refuses a path listed twice, and two applications' paths where one pattern, as a
        regex, matches the other's text: so does this proxy, with the same rule. A real overlap that
        rule misses (`/:lang(en|fr)/labs` and `/en/:path*`) starts, as on Vercel, with a warning."""
        for a, b in self.comparable_claims():
            source_a, source_b = a.pattern.source, b.pattern.source
            if source_a == source_b:
                owner = (
                    "listed twice (also "
                    if a.application == b.application
                    else f"also claimed by {a.application} ("
                )
                self.problem(b.where, f"{quote(source_b)} is {owner}{a.where})")
            elif a.application == b.application:
                continue  # one application's patterns may overlap: its own order decides
            elif _matches_text(a.pattern, source_b) or _matches_text(b.pattern, source_a):
                self.problem(
                    b.where,
                    f"{quote(source_b)} overlaps {quote(source_a)} of {a.application} ({a.where}): Vercel "
                    "refuses paths of two applications where one pattern matches the other; give the path "
                    "to one application only",
                )
            else:
                found = find_overlap(a.pattern, b.pattern)
                if found is not None:
                    self.overlaps.append((a, b, found.example))

    def warn_overlaps(self, applications: Mapping[str, Application]) -> None:
        """Each overlap that starts: which application serves the paths both patterns match."""
        rank = {name: _array_index(name) for name in applications}
        ordered = sorted(self.claims, key=lambda claim: rank.get(claim.application, (True, 0)))
        for a, b, example in self.overlaps:
            first = min(a, b, key=lambda claim: rank.get(claim.application, (True, 0)))
            if example is not None:
                first = next(claim for claim in ordered if claim.pattern.matches(example))
            behind = f" (behind its flag {quote(first.flag)})" if first.flag else ""
            paths = f"paths such as {example}; those go" if example else "the same paths; those would go"
            self.warning(
                b.where,
                f"{quote(b.pattern.source)} and {quote(a.pattern.source)} of {a.application} ({a.where}) "
                f"both match {paths} to {first.application}{behind}, whose paths Vercel tries first (README, "
                '"Overlapping paths"). Vercel\'s own check misses this overlap',
            )

    def comparable_claims(self) -> Iterator[tuple["_Claim", "_Claim"]]:
        """Pairs of claims that might overlap, the one written first first. Patterns whose first
        segments are different literals never do (nor does either's regex match the other's text),
        so each is compared only within its first segment's bucket and with the patterns that start
        with a parameter: linear in the number of patterns for usual configs."""
        buckets: dict[str, list[tuple[int, _Claim]]] = {}
        for numbered in enumerate(self.claims):
            prefix = numbered[1].pattern.literal_prefix
            buckets.setdefault(prefix[0] if prefix else "", []).append(numbered)
        dynamic = buckets.pop("", [])
        for bucket in [*buckets.values(), dynamic]:
            pairs = itertools.combinations(bucket, 2)
            if bucket is not dynamic:
                pairs = itertools.chain(pairs, itertools.product(dynamic, bucket))
            for first, second in pairs:
                yield (first[1], second[1]) if first[0] < second[0] else (second[1], first[1])

    def check_asset_prefixes(self, applications: Mapping[str, Application]) -> None:
        owners: dict[str, str] = {}
        for app in applications.values():
            for prefix in app.asset_prefixes:
                owner = owners.setdefault(prefix, app.name)
                if owner != app.name:
                    self.problem(
                        _child(_child("applications", app.name), "assetPrefix"),
                        f"the asset prefix {quote(prefix)} is also one of {owner}'s",
                    )


def _matches_text(pattern: PathPattern, text: str) -> bool:
    """Vercel's overlap rule: `pathToRegexp(pattern).test(text)`. Its `i` flag folds non-ASCII
    letters too, so another pattern's non-ASCII text is tested with Python's Unicode folding."""
    if text.isascii():
        return pattern.matches(text)
    return re.match(pattern.regex.pattern, text, re.IGNORECASE) is not None


class _Claim(NamedTuple):
    application: str
    where: str
    pattern: PathPattern
    flag: str | None


def _valid_host(host: str, bracketed: bool) -> bool:
    """An IP address (only IPv6 within brackets), or a DNS name whose last label is not a number:
    the URL standard reads a host that ends in a number as an IPv4 address, so `999.0.0.1` and
    `127.0.0.1.1` are typos, not names."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (
            not bracketed
            and _HOST_NAME.fullmatch(host) is not None
            and not host.rstrip(".").rpartition(".")[2].isdigit()
        )
    return address.version == 6 or not bracketed
