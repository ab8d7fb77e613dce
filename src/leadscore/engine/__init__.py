"""The scoring core: pure functions of a model, a lead, its events and an explicit ``as_of``."""

from leadscore.engine.account import AccountScore, score_account
from leadscore.engine.compiled import CompiledModel
from leadscore.engine.scoring import compile_model, score
from leadscore.engine.state import LeadState
from leadscore.engine.types import Account, Contribution, Event, Lead, Score

__all__ = [
    "Account",
    "AccountScore",
    "CompiledModel",
    "Contribution",
    "Event",
    "Lead",
    "LeadState",
    "Score",
    "compile_model",
    "score",
    "score_account",
]
