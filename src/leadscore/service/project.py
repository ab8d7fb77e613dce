"""A project folder: ``leadscore.yaml`` naming the database and the scoring models to run side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from leadscore.engine.compiled import CompiledModel
from leadscore.model.loader import ModelError, ModelIssue, load_model, parse_yaml, validate_document
from leadscore.model.scoring_model import ScoringModel

CONFIG_NAME = "leadscore.yaml"
DEFAULT_DATABASE = "sqlite:///leadscore.db"


class ServerConfig(BaseModel):
    """``leadscore serve`` settings (the ``server:`` section); environment variables override each one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_batch: int = Field(default=10_000, gt=0)
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int | None = Field(default=None, gt=0)
    #: How long a process trusts a key it checked: a revoked key stops working within this many seconds.
    key_cache_seconds: float = Field(default=5.0, ge=0)


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database: str = DEFAULT_DATABASE
    models: list[str] = Field(default_factory=lambda: ["models/b2b_saas.yaml"], min_length=1)
    server: ServerConfig = Field(default_factory=ServerConfig)


class ProjectError(ValueError):
    """A project that cannot be opened; the message says what to do."""


class ProjectConfigError(ModelError):
    """A ``leadscore.yaml`` with problems, each with its file, line and field (not a scoring model's)."""

    def __init__(self, issues: list[ModelIssue]) -> None:
        super().__init__(issues)
        count = len(issues)
        header = f"{count} problem{'s' if count != 1 else ''} in project config"
        ValueError.__init__(self, "\n".join([header, *(f"  {issue}" for issue in issues)]))


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    source: str
    model: ScoringModel
    compiled: CompiledModel


@dataclass(frozen=True)
class Project:
    root: Path
    config: ProjectConfig
    models: list[LoadedModel]

    @property
    def database(self) -> str:
        return self.config.database

    def model(self, name: str | None) -> LoadedModel:
        """A model by name or ``name@version``; the first model when ``name`` is None."""
        if name is None:
            return self.models[0]
        for loaded in self.models:
            if name in (loaded.model.name, loaded.model.key):
                return loaded
        known = ", ".join(m.model.key for m in self.models)
        raise ProjectError(f"no model {name!r} in this project: expected one of {known}")


def load_project(root: Path, database: str | None = None) -> Project:
    """Reads ``leadscore.yaml`` in ``root`` and every model it names; model errors are raised whole."""
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ProjectError(f"no {CONFIG_NAME} in {root}: run 'leadscore init {root}' or pass --project DIR")
    try:
        data, locations = parse_yaml(path.read_text(encoding="utf-8"), str(path))
        config = validate_document(data or {}, locations, str(path), ProjectConfig)
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ProjectError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None
    except ModelError as exc:
        raise ProjectConfigError(exc.issues) from None
    assert isinstance(config, ProjectConfig)
    if database is not None:
        config = config.model_copy(update={"database": database})
    models: list[LoadedModel] = []
    issues = []
    for name in config.models:
        model_path = (root / name) if not Path(name).is_absolute() else Path(name)
        try:
            model = load_model(model_path)
        except ModelError as exc:
            issues.extend(exc.issues)
            continue
        models.append(LoadedModel(model_path, model_path.read_text(encoding="utf-8"), model, CompiledModel(model)))
    if issues:
        raise ModelError(issues)
    keys = [m.model.key for m in models]
    if len(set(keys)) != len(keys):
        raise ProjectError(f"two models share a name and version in {path}: {keys}")
    return Project(root=root, config=config, models=models)


def write_project(root: Path, database: str = DEFAULT_DATABASE, models: Sequence[str] = ("b2b_saas",)) -> Path:
    """A project folder with shipped example models (by name); existing files are never overwritten."""
    folder = root / "models"
    folder.mkdir(parents=True, exist_ok=True)
    for name in models:
        model_path = folder / f"{name}.yaml"
        if not model_path.exists():
            shipped = files("leadscore.data").joinpath(f"models/{name}.yaml").read_text(encoding="utf-8")
            model_path.write_text(shipped, encoding="utf-8")
    config = root / CONFIG_NAME
    if not config.exists():
        listed = "".join(f"  - models/{name}.yaml\n" for name in models)
        config.write_text(
            "# leadscore project: the database and the scoring models that run side by side.\n"
            f"database: {database}\nmodels:\n{listed}",
            encoding="utf-8",
        )
    return config
