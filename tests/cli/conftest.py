"""A project made by ``leadscore init``, small input files with good and bad rows, and a leadforge bundle.

The expected scores in the tests are computed by hand from these files and the example model
(``models/b2b_saas.yaml``: engagement halves every 30 days, -5 per full 30 days without engagement).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import AS_OF, ok

# Line 1 is the header. Lines 4, 5 and 7 are bad: a size that is not a number, an email without "@", no id
# and no email. All leads were created on 2026-01-05: 55 days before AS_OF, so -5 for inactivity.
#   L1 ana: vp 12 + marketing 5 + software 10 + united states 5 + size 10-500 5 = fit 37
#   L2 bob: student -15 + free mail -20 = fit -35
#   L5 dee: head of 10 + it 5 + germany 5 + over 1000 -5 = fit 15
#   L6 eve: no fit rule = fit 0; engagement only
LEADS_CSV = """\
id,email,title,department,industry,company_size,country,created_at
L1,ana@acme.io,VP Marketing,Marketing,Software,50,United States,2026-01-05T00:00:00Z
L2,bob@gmail.com,Student,,Education,,,2026-01-05
L3,cy@beta.io,Director of Sales,Sales,Software,fifty,US,2026-01-05
L4,not-an-email,Manager,,,,,
L5,dee@gamma.io,Head of IT,IT,Retail,2000,Germany,2026-01-05
,,Nobody,,,,,
L6,eve@delta.io,,,,,,2026-01-05
"""

# Line 3 is not JSON, line 4 names no lead, line 5 has no readable time, line 6 is blank (skipped).
# Scored as of AS_OF:
#   L1: demo 9 days old 45 * 0.5 ** (9/30) = 36.55, pricing 4 days old 5 * 0.5 ** (4/30) = 4.56; e7 is
#       after AS_OF and does not count yet. Engagement 41.11, total 78.11: hot, A2, sql.
#   L6: demo 10 days old 45 * 0.5 ** (10/30) = 35.72: warm, C2, mql.
#   new@zeta.io (created by its event): webinar 2 days old 10 * 0.5 ** (2/30) = 9.55: cold, C4, lead.
EVENTS_JSONL = """\
{"id":"e1","lead_id":"L1","type":"form_submit","occurred_at":"2026-02-20T00:00:00Z","properties":{"form":"demo"}}
{"id": "e2", "email": "ana@acme.io", "type": "page_view", "occurred_at": "2026-02-25T00:00:00Z", "url": "https://acme.io/pricing"}
not json
{"id": "e3", "type": "email_open", "occurred_at": "2026-02-25T00:00:00Z"}
{"id": "e4", "lead_id": "L2", "type": "email_open", "occurred_at": "soon"}

{"id":"e5","lead_id":"L6","type":"form_submit","occurred_at":"2026-02-19T00:00:00Z","properties":{"form":"demo"}}
{"id": "e6", "email": "new@zeta.io", "type": "webinar_signup", "occurred_at": "2026-02-27T00:00:00Z"}
{"id": "e7", "lead_id": "L1", "type": "email_open", "occurred_at": "2026-03-05T00:00:00Z"}
"""

# A second model beside the example one: fit only, so its scores never move with time.
#   L1 (VP) 60: warm; L5 (Head of IT, 2000 people) 60 + 30 = 90: hot; everyone else 0: cold.
FIT_ONLY_YAML = """\
name: fit_only
version: 2
fit:
  - name: leader
    points: 60
    when: {field: title, matches: '\\b(vp|director|head of)\\b'}
  - name: big_company
    points: 30
    when: {field: company_size, gt: 1000}
tiers: [{name: hot, min: 80}, {name: warm, min: 50}, {name: cold}]
grades: [{name: A, min: 80}, {name: B, min: 50}, {name: C}]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``leadscore init`` plus a second model listed in its leadscore.yaml."""
    root = tmp_path / "acme"
    out = ok("init", root)
    assert f"project ready: {root / 'leadscore.yaml'}" in out
    (root / "models" / "fit_only.yaml").write_text(FIT_ONLY_YAML, encoding="utf-8")
    config = root / "leadscore.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "  - models/fit_only.yaml\n", encoding="utf-8")
    return root


@pytest.fixture
def leads_csv(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "leads.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(LEADS_CSV, encoding="utf-8")
    return path


@pytest.fixture
def events_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "events.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text(EVENTS_JSONL, encoding="utf-8")
    return path


@pytest.fixture
def loaded(project: Path, leads_csv: Path, events_jsonl: Path) -> Path:
    """The project with LEADS_CSV and EVENTS_JSONL ingested as of AS_OF."""
    ok("-p", project, "ingest", "leads", leads_csv, "--as-of", AS_OF)
    ok("-p", project, "ingest", "events", events_jsonl, "--as-of", AS_OF)
    return project


@pytest.fixture(scope="session")
def leadforge_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small leadforge bundle, generated once per session (about 1.5 s)."""
    from leadscore.ingest.leadforge import generate_bundle

    return generate_bundle(
        tmp_path_factory.mktemp("leadforge") / "bundle", n_leads=300, seed=7, n_accounts=120, n_contacts=400
    )
