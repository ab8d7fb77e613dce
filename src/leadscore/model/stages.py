"""Lifecycle stages (lead, MQL, SQL) entered from scores, with recycle and disqualify conditions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadscore.model.conditions import Condition

#: Fields a stage condition can read, besides ``lead.<field>`` and ``account.<field>``.
STAGE_FIELDS: frozenset[str] = frozenset(
    {"total", "fit", "engagement", "tier", "grade", "level", "matrix", "days_since_engagement"}
)


class Stage(BaseModel):
    """A stage entered when ``when`` holds; stages are listed from the lowest to the highest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    when: Condition | None = None


class Lifecycle(BaseModel):
    """The first stage is the default; a lead sits in the highest stage whose condition holds.

    ``recycle`` sends a lead back to the first stage and ``disqualify`` to ``disqualified`` whatever
    its scores, disqualify first.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[Stage] = Field(min_length=1)
    recycle: Condition | None = None
    disqualify: Condition | None = None
    disqualified_stage: str = "disqualified"

    @model_validator(mode="after")
    def _check(self) -> Lifecycle:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"expected unique stage names, got {names}")
        if self.stages[0].when is not None:
            raise ValueError(f"expected the first stage ({names[0]!r}) to have no 'when': it is the default")
        for stage in self.stages[1:]:
            if stage.when is None:
                raise ValueError(f"expected a 'when' on stage {stage.name!r}")
        if self.disqualified_stage in names:
            raise ValueError(f"{self.disqualified_stage!r} is reserved for disqualified leads")
        return self

    def names(self) -> list[str]:
        return [s.name for s in self.stages]


DEFAULT_LIFECYCLE = Lifecycle(stages=[Stage(name="lead")])
