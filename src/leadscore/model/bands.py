"""Score bands: tiers (on the total), fit grades (on fit) and engagement levels (on engagement)."""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator


class Band(BaseModel):
    """A named band that starts at ``min`` (inclusive); the lowest band has no ``min``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    min: float | None = None


class Bands(RootModel[list[Band]]):
    """Bands listed from the highest to the lowest, the last one catching everything below."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        bands = self.root
        if not bands:
            raise ValueError("expected at least one band")
        names = [b.name for b in bands]
        if len(set(names)) != len(names):
            raise ValueError(f"expected unique band names, got {names}")
        if bands[-1].min is not None:
            raise ValueError(f"expected the last band ({bands[-1].name!r}) to have no 'min': it catches the rest")
        mins = [b.min for b in bands[:-1]]
        for i, value in enumerate(mins):
            if value is None:
                raise ValueError(f"expected a 'min' on band {bands[i].name!r}: only the last band has none")
        numeric = [m for m in mins if m is not None]
        if any(a <= b for a, b in itertools.pairwise(numeric)):
            raise ValueError(f"expected bands from highest to lowest 'min', got {numeric}")
        return self

    def place(self, score: float) -> str:
        for band in self.root:
            if band.min is None or score >= band.min:
                return band.name
        raise AssertionError("the last band catches every score")  # pragma: no cover

    def names(self) -> list[str]:
        return [b.name for b in self.root]


DEFAULT_TIERS = Bands([Band(name="hot", min=75), Band(name="warm", min=25), Band(name="cold")])
DEFAULT_GRADES = Bands([Band(name="A", min=30), Band(name="B", min=15), Band(name="C", min=0), Band(name="D")])
DEFAULT_LEVELS = Bands([Band(name="1", min=50), Band(name="2", min=25), Band(name="3", min=10), Band(name="4")])
