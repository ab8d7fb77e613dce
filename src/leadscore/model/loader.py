"""Reads a scoring model from YAML and reports every problem with its file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from leadscore.model.scoring_model import ScoringModel

Location = tuple[int, int]


@dataclass(frozen=True)
class ModelIssue:
    """One problem in a model file; ``line`` and ``column`` are 1-based."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f" {self.field}:" if self.field else ""
        return f"{self.file}:{self.line}:{self.column}:{where} {self.message}"


class ModelError(ValueError):
    """A model file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ModelIssue]) -> None:
        self.issues = issues
        count = len(issues)
        header = f"{count} problem{'s' if count != 1 else ''} in scoring model"
        super().__init__("\n".join([header, *(f"  {issue}" for issue in issues)]))


def _locate(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], Location]) -> None:
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _locate(value_node, (*path, key_node.value), out)
                # A field's problem is reported at its key, where a reader looks for it.
                out[(*path, key_node.value)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _locate(item, (*path, index), out)


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[Any, ...]:
    """Keeps the parts of a pydantic error location that exist in the data (drops union tags)."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
    return tuple(path)


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: Any, data: Any, path: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "missing":
        return f"expected field {error['loc'][-1]!r}, which is required"
    if kind == "extra_forbidden":
        return f"unknown field {error['loc'][-1]!r}"
    text = str(error["msg"])
    text = text.removeprefix("Value error, ")
    if "input" in error and kind not in ("value_error", "assertion_error"):
        text += f", got {error['input']!r}"
    return text


def _located(file: str, line: int, column: int, field: str, message: str) -> ModelIssue:
    return ModelIssue(file=file, line=line, column=column, field=field, message=message)


def validate_document(
    data: Any, locations: dict[tuple[Any, ...], Location], file: str, schema: type[BaseModel]
) -> BaseModel:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            path = _data_path(data, tuple(error["loc"]))
            line, column = locations.get(path, (1, 1))
            issues.append(_located(file, line, column, _dotted(path), _message(error, data, path)))
        raise ModelError(issues) from None


def parse_yaml(text: str, file: str) -> tuple[Any, dict[tuple[Any, ...], Location]]:
    """YAML data plus the line and column of every key and item, for error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ModelError([_located(file, line, column, "", f"invalid YAML: {exc.problem}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. a control character
        line = text[: exc.position].count("\n") + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ModelError([_located(file, line, column, "", f"invalid YAML: {exc.reason} (U+{code:04X})")]) from None
    locations: dict[tuple[Any, ...], Location] = {}
    if node is not None:
        _locate(node, (), locations)
    return data, locations


def loads_model(text: str, file: str = "<model>") -> ScoringModel:
    data, locations = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ModelError([_located(file, 1, 1, "", "expected a mapping with 'name', 'fit' and 'engagement'")])
    model = validate_document(data, locations, file, ScoringModel)
    assert isinstance(model, ScoringModel)
    return model


def read_document(path: Path) -> str:
    """A YAML file's text; a file that cannot be read is a ``ModelError`` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError([_located(str(path), 1, 1, "", f"cannot read file: {exc.strerror}")]) from None


def load_model(path: str | Path) -> ScoringModel:
    """Loads and validates one model file; raises ``ModelError`` listing every problem."""
    path = Path(path)
    return loads_model(read_document(path), str(path))
