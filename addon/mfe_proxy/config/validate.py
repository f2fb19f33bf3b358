"""Validating a config document into the model (`mfe_proxy.model.Config`): everything wrong with it is
reported at once, each problem with its field path and a sentence a person can act on, and what
Vercel would refuse but this proxy serves becomes a warning."""

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mfe_proxy.config.findings import child, type_name
from mfe_proxy.config.origins import OriginsValidator
from mfe_proxy.config.reader import CONFIG_FILE_NAMES, ConfigObject
from mfe_proxy.config.routes import RoutesValidator
from mfe_proxy.errors import ConfigError, ConfigProblem, quote
from mfe_proxy.model import DEFAULT_PROXY_PORT, Application, Config, Origin, generated_port

# Keys that Turborepo's format defines for other tools: accepted and ignored (Vercel refuses them).
_IGNORED_APPLICATION_KEYS = frozenset({"production", "vercel", "projectId"})
# The names Vercel and Turborepo look for; any other is read here but not on a deploy.
_DEPLOYED_FILE_NAMES = frozenset(CONFIG_FILE_NAMES[:2])


def validate(document: Any, file: str) -> Config:
    """The config a document describes; raises `ConfigError` listing every problem."""
    return _Validator(file).config(document)


class _Validator(RoutesValidator, OriginsValidator):
    def __init__(self, file: str) -> None:
        super().__init__(file)
        # Which applications are children is known from the `routing` key, even when its value is
        # wrong; an entry that is not an object at all could be either.
        self.children: set[str] = set()
        self.unreadable_applications = False

    def config(self, document: Any) -> Config:
        if not isinstance(document, dict):
            raise ConfigError(
                self.file,
                [ConfigProblem("", f"the top level must be an object, not {type_name(document)}")],
            )
        if "partOf" in document:
            owner = document["partOf"]
            # Only a string names a package; anything else is shown by its type.
            package = (
                quote(owner) if isinstance(owner, str) else f"that partOf names ({type_name(owner)} here)"
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

    def applications(self, value: Any) -> dict[str, Application]:
        if value is None:
            self.problem("applications", 'is missing: list the applications, e.g. {"web": {}}')
            return {}
        if not self.expect(value, dict, "applications", "an object of application names"):
            return {}
        for key in value.repeated:
            self.problem(child("applications", key), "appears more than once; keep one")
        if not value:
            self.problem("applications", "is empty: list at least the default application")
        parsed = {}
        for name, spec in value.items():
            where = child("applications", name)
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

    def application(self, name: str, spec: ConfigObject, where: str) -> Application:
        self.keys(
            spec,
            where,
            frozenset({"packageName", "development", "routing", "assetPrefix"}),
            _IGNORED_APPLICATION_KEYS,
        )
        for key in _IGNORED_APPLICATION_KEYS.intersection(spec):
            self.vercel_refuses(
                child(where, key),
                "is Turborepo's and ignored here",
                f"\"Property '{key}' is not allowed in field applications/{name}\"",
            )
        if "routing" in spec:
            self.children.add(name)
        else:
            self.default_development(name, spec.get("development"), where)
        package_name = self.string(spec, "packageName", where)
        upstream, fallback, task = self.development(
            name, spec.get("development"), child(where, "development")
        )
        routes = self.routing(name, spec.get("routing"), child(where, "routing")) if "routing" in spec else ()
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
                child(where, "development"),
                "the default application has no `fallback`",
                f"\"Property 'fallback' is required in field applications/{name}/development\"",
            )

    def development(self, name: str, value: Any, where: str) -> tuple[Origin, Origin | None, str | None]:
        upstream = Origin("http", "localhost", generated_port(name))
        if value is None or not self.expect(value, dict, where, "an object"):
            return upstream, None, None
        if "localPort" in value:
            self.problem(
                child(where, "localPort"), "was renamed to `local` (Vercel's format since 1.2.0); rename it"
            )
        self.keys(value, where, frozenset({"local", "fallback", "task"}), frozenset({"localPort"}))
        if "local" in value:
            upstream = self.local(name, value["local"], child(where, "local")) or upstream
        fallback = self.fallback(value["fallback"], child(where, "fallback")) if "fallback" in value else None
        return upstream, fallback, self.string(value, "task", where)

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
