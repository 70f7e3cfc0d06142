"""Load a YAML file into a config model, reporting each error with the YAML line it comes from."""

from __future__ import annotations

import difflib
import io
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from config.redaction import redact_url

M = TypeVar("M", bound=BaseModel)
_SECRET_FIELDS = {"secret", "password", "token", "sha256"}


class ConfigError(ValueError):
    """A configuration file that is missing, unparsable or invalid; the message lists every problem."""


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key and refuses a key given twice."""


class _DuplicateKey(yaml.YAMLError):
    """A mapping key given twice: YAML would keep the last silently, hiding a hand-editing slip."""

    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(f"{key}: given twice (first on line {first})")
        self.line = line


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    # Before SafeLoader folds merge keys (<<) in: a key that overrides a merged one is no duplicate.
    explicit = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    seen: dict[Any, int] = {}
    for key_node in explicit:
        key, line = loader.construct_object(key_node), key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key, line, seen[key])
        seen[key] = line
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


def _locate(doc: Any, loc: tuple[int | str, ...]) -> tuple[int | None, tuple[int | str, ...]]:
    """The YAML line of ``loc`` and ``loc`` as the file spells it: without the tag pydantic adds for a
    discriminated union's member (``webcam`` in streams.0.source.webcam.index, the value of its kind)."""
    line, node, spelt = None, doc, []
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            tag = part in (node.get("kind"), node.get("type")) or part not in node
            if tag and not last:  # the last one may be a missing key
                continue
            spelt.append(part)
            if part not in node:
                continue
            line = node.get("__lines__", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            spelt.append(part)
            node = node[part]
        else:
            spelt += loc[i:]
            break
    return line, tuple(spelt)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...], doc: Any) -> list[str]:
    """The keys ``model`` takes in the mapping at ``loc`` (as the file spells it; of a tagged union,
    the member the mapping's kind or type names)."""
    models, node = [model], doc
    for part in loc:
        if isinstance(part, int):  # an item of a list: the same models
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        node = node.get(part) if isinstance(node, dict) else None
        models = [m for parent in models if part in parent.model_fields
                  for m in _models_in(parent.model_fields[part].annotation)]  # fmt: skip
        if isinstance(node, dict) and len(models) > 1:
            tag = node.get("kind", node.get("type"))
            models = [m for m in models if tag in (_default(m, "kind"), _default(m, "type"))] or models
    return sorted({key for m in models for key in m.model_fields})


def _default(model: type[BaseModel], field: str) -> Any:
    return model.model_fields[field].default if field in model.model_fields else None


def _echo(loc: tuple[int | str, ...], value: object) -> str:
    """`` (got ...)`` for an error: nothing where secrets go, nor a URL setting's value that is no
    URL (``hooks.example/api/webhook/<token>``: no rule can tell its token); a string as any URL in
    it is logged (a webhook's token, a camera's or database's password masked)."""
    if _SECRET_FIELDS & {str(p) for p in loc} or not isinstance(value, str | int | float | bool):
        return ""
    if not isinstance(value, str):
        return f" (got {value!r})"
    if loc and str(loc[-1]).endswith("url") and "://" not in value:
        return ""
    return f" (got {redact_url(value)!r})"


def parse_config(text: str, model: type[M], source: str = "<config>") -> M:
    """Validate YAML ``text`` as ``model``; raises :class:`ConfigError` naming file:line per error."""
    try:
        stream = io.StringIO(text)
        stream.name = source  # YAML's own messages name the file, not "<unicode string>"
        doc = yaml.load(stream, Loader=_LineLoader)
        plain = _strip_lines(doc)
    except _DuplicateKey as e:
        raise ConfigError(f"invalid configuration:\n  {source}:{e.line}: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {e}") from e
    except RecursionError:
        raise ConfigError(f"{source}: a YAML alias refers to itself (an endless structure)") from None
    if doc is None:  # a file truncated or not written yet would otherwise run on the defaults
        raise ConfigError(f"{source}: no settings in it (an empty file); write {{}} to take every default")
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return model.model_validate(plain)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            line, loc = _locate(doc, tuple(err["loc"]))
            where = f"{source}:{line}" if line else source
            shown = "" if err["type"] == "missing" else _echo(loc, err.get("input"))
            if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
                known = _known_keys(model, loc[:-1], doc)
                near = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.7)
                # a key given one level too high (bus.senders for bus.curve.senders): where it goes
                home = [k for k in known if loc[-1] in _known_keys(model, (*loc[:-1], k), doc)]
                if near:
                    shown += f"; did you mean {near[0]!r}?"
                elif home:
                    shown += "; it belongs in " + " or ".join(
                        f"{k!r} ({'.'.join(map(str, (*loc[:-1], k, loc[-1])))})" for k in home
                    )
            problems.append(
                f"{where}: {'.'.join(str(p) for p in loc) or '(top)'}: {err['msg'].removeprefix('Value error, ')}{shown}"
            )
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from e


def read_config_text(path: str | Path) -> str:
    """The text of a configuration file; raises :class:`ConfigError` when it is missing, a folder,
    unreadable or not UTF-8 (a caller that must look at the file before choosing its model reads it once)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p} is a directory, not a configuration file")
    if not p.is_file():
        raise ConfigError(f"configuration file not found: {p}")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not a text file (byte {e.start} is not UTF-8)") from None
    except OSError as e:
        raise ConfigError(f"cannot read configuration file {p}: {e.strerror}") from None


def load_config(path: str | Path, model: type[M]) -> M:
    return parse_config(read_config_text(path), model, source=str(path))
