"""Load a YAML file into a config model, reporting each error with the YAML line it comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from config.secrets import has_password

M = TypeVar("M", bound=BaseModel)
_SECRET_FIELDS = {"secret", "password", "token", "sha256"}


class ConfigError(ValueError):
    """A configuration file that is missing, unparsable or invalid; the message lists every problem."""


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    lines = {}
    for key_node, _ in node.value:
        lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_lines(v) for k, v in obj.items() if k != "__lines__"}
    if isinstance(obj, list):
        return [_strip_lines(v) for v in obj]
    return obj


def _line_of(doc: Any, loc: tuple[int | str, ...]) -> int | None:
    line = None
    node = doc
    for part in loc:
        if isinstance(node, dict):
            if part not in node:  # a discriminated union's tag (e.g. "tensorrt") is in loc, not in the YAML
                continue
            line = node.get("__lines__", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    return line


def _secret(loc: tuple[int | str, ...], value: object) -> bool:
    """Whether an input must not be echoed in an error: it sits where secrets go, or holds a password."""
    return bool(_SECRET_FIELDS & {str(p) for p in loc}) or (isinstance(value, str) and has_password(value))


def parse_config(text: str, model: type[M], source: str = "<config>") -> M:
    """Validate YAML ``text`` as ``model``; raises :class:`ConfigError` naming file:line per error."""
    try:
        doc = yaml.load(text, Loader=_LineLoader) or {}
        plain = _strip_lines(doc)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {e}") from e
    except RecursionError:
        raise ConfigError(f"{source}: a YAML alias refers to itself (an endless structure)") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return model.model_validate(plain)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line_of(doc, loc)
            where = f"{source}:{line}" if line else source
            got = err.get("input")
            shown = (
                f" (got {got!r})"
                if isinstance(got, str | int | float | bool)
                and err["type"] != "missing"
                and not _secret(loc, got)
                else ""
            )
            problems.append(f"{where}: {'.'.join(str(p) for p in loc) or '(top)'}: {err['msg']}{shown}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from e


def load_config(path: str | Path, model: type[M]) -> M:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"configuration file not found: {p}")
    return parse_config(p.read_text(), model, source=str(p))
