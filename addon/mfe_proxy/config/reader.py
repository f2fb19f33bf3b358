"""Reading a config file into a document: JSON with comments and trailing commas (JSONC), or YAML.

Whatever the bytes, the result is a document of dicts, lists and scalars, with every mapping a
`ConfigObject` that remembers the keys the file repeated, or a `ConfigError` saying where and why
the file cannot be read (a line and column for syntax errors)."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from mfe_proxy import jsonc
from mfe_proxy.config.findings import child
from mfe_proxy.errors import ConfigError, ConfigProblem, quote

CONFIG_FILE_NAMES = (
    "microfrontends.json",
    "microfrontends.jsonc",
    "microfrontends.yaml",
    "microfrontends.yml",
)


def read_document(data: bytes, file: str) -> Any:
    """The document in the bytes of a config file; `file` names it in messages and picks the format
    (YAML for `.yaml`/`.yml`, JSONC, of which JSON is a part, for any other name)."""
    document = _parse_document(data, file)
    problems = list(_lone_surrogates(document))
    if problems:
        raise ConfigError(file, problems)
    return document


class ConfigObject(dict[str, Any]):
    """A parsed mapping that remembers keys the file repeated (JSON and YAML parsers keep the last)."""

    repeated: tuple[str, ...] = ()


def _object_from_pairs(pairs: list[tuple[Any, Any]]) -> ConfigObject:
    obj = ConfigObject(pairs)
    if len(obj) != len(pairs):
        seen: set[Any] = set()
        obj.repeated = tuple(str(k) for k, _ in pairs if k in seen or seen.add(k))
    return obj


_YAML_INT_LIMIT = 32  # characters of an integer in a YAML file, sign and base prefix included


class _YamlLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> ConfigObject:
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
                    yield ConfigProblem(child(where, key), f"the key {quote(key)} {_SURROGATE_PROBLEM}")
                pending.append((child(where, key), item))


_SURROGATE = re.compile("[\ud800-\udfff]")


_SURROGATE_PROBLEM = (
    "holds a lone surrogate escape, which is not valid Unicode text; escape the whole character "
    '(e.g. "\\ud83d\\ude00" for U+1F600) or write it as it is'
)
