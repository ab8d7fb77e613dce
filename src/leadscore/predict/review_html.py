"""The review as one self-contained HTML file: tables and embedded charts, nothing fetched from anywhere.

Everything shown is read from the figures dict (``review.figures``), which is also embedded whole as a
``<script type="application/json" id="review-data">`` block: the report carries its own data, and the
JSON file written beside it is the same dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import orjson

from leadscore.predict import review_plots as plots

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f4f4f4; }
img { max-width: 100%; display: block; margin: .5em 0; }
.warn { color: #a33; } .flag { color: #a33; font-weight: 600; } .note { color: #666; }
"""


def render(figures: Mapping[str, Any]) -> str:
    """The whole report as HTML text."""
    parts = [_summary(figures["summary"]), _ranking(figures)]
    parts.append(_section("Conversion by score", _conversion(figures)))
    parts.append(_section("Score distributions", _distributions(figures["distributions"])))
    parts.append(_section("Rule lift", _rule_lift(figures["rule_lift"])))
    parts.append(_section("Drift by month of snapshot", _drift(figures["drift"])))
    parts.append(_section("Funnel", _funnel(figures.get("funnel") or {})))
    data = orjson.dumps(figures).decode().replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>leadscore review</title>'
        f"<style>{STYLE}</style></head><body>\n{''.join(parts)}\n"
        f'<script type="application/json" id="review-data">{data}</script>\n</body></html>\n'
    )


def _section(title: str, body: str) -> str:
    return f'<section id="{escape(title.lower().replace(" ", "-"))}"><h2>{escape(title)}</h2>{body}</section>\n'


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pct(value: float | None) -> str:
    return "&ndash;" if value is None else f"{value:.1%}"


def num(value: float | None, digits: int = 3) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def _rate_cells(rate: Mapping[str, Any]) -> list[str]:
    return [
        str(rate["rows"]),
        str(rate["converted"]),
        pct(rate["rate"]),
        f"{pct(rate['low'])} &ndash; {pct(rate['high'])}",
    ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _summary(summary: Mapping[str, Any]) -> str:
    models = ", ".join(escape(key) for key in summary["models"].values()) or "none"
    lines = [
        f"<p>{summary['rows']} rows (lead and snapshot), {summary['positives']} converted within "
        f"{summary['horizon_days']:g} days of their snapshot. Evaluated on {escape(summary['evaluated_on'])}.</p>",
        f"<p>Rules models: {models}.</p>",
    ]
    predictive = summary.get("predictive")
    if predictive:
        about = ", ".join(f"{k} {escape(_text(v))}" for k, v in predictive.items() if k != "label")
        lines.append(f"<p>Predictive model: {escape(predictive['label'])} ({about}).</p>")
    until = summary.get("observed_until")
    if until:
        lines.append(f'<p class="note">Data observed until {escape(until)}.</p>')
    lines += [f'<p class="warn">Warning: {escape(w)}</p>' for w in summary["warnings"]]
    return "<h1>leadscore review</h1>\n" + "".join(lines)


def _ranking(figures: Mapping[str, Any]) -> str:
    shares = ("top_5pct", "top_10pct", "top_20pct")
    header = ["score", "ROC AUC", "average precision"]
    header += [f"precision {s[4:-3]}%" for s in shares] + [f"recall {s[4:-3]}%" for s in shares]
    rows = [
        [escape(label), num(r["auc"]), num(r["average_precision"])]
        + [pct(r["precision_at"][s]) for s in shares]
        + [pct(r["recall_at"][s]) for s in shares]
        for label, r in figures["ranking"].items()
    ]
    body = _table(header, rows) + _img(plots.gains_chart(figures["gains"]), "cumulative gains and lift")
    calibrated = figures.get("calibration")
    if calibrated:
        body += f"<h3>Calibration of {escape(calibrated['label'])}</h3>"
        body += f"<p>Expected calibration error: {num(calibrated['expected_calibration_error'])}.</p>"
        body += _img(plots.calibration_chart(calibrated["bins"], calibrated["label"]), "calibration")
        cal_rows = [
            [
                f"{b['low_edge']:.1f} &ndash; {b['high_edge']:.1f}",
                b["rows"],
                pct(b["predicted"]),
                pct(b["observed"]),
                f"{pct(b['low'])} &ndash; {pct(b['high'])}",
            ]
            for b in calibrated["bins"]
        ]
        body += _table(["probability", "rows", "predicted", "observed", "95% interval"], cal_rows)
    return _section("Ranking", body)


def _conversion(figures: Mapping[str, Any]) -> str:
    out = []
    for label, by in figures["conversion"].items():
        out.append(f"<h3>{escape(label)}</h3>" + _img(plots.conversion_chart(by, label), f"conversion, {label}"))
        for name, groups in by.items():
            rows = [[escape(str(g["group"])), *_rate_cells(g)] for g in groups]
            out.append(_table([name, "rows", "converted", "rate", "95% interval"], rows))
    return "".join(out)


def _distributions(distributions: Mapping[str, Any]) -> str:
    out = []
    for label, d in distributions.items():
        medians = f"median converted {num(d['median_converted'], 2)}, not converted {num(d['median_not_converted'], 2)}"
        out.append(f"<h3>{escape(label)}</h3><p>{medians}</p>" + _img(plots.distribution_chart(d, label), label))
    return "".join(out)


def _rule_lift(per_model: Mapping[str, Any]) -> str:
    out = []
    header = [
        "rule",
        "kind",
        "points",
        "triggered: rows",
        "rate",
        "95% interval",
        "not triggered: rate",
        "95% interval",
        "lift",
        "flag",
        "suggested points",
    ]
    for label, lifts in per_model.items():
        scale = lifts["points_per_log_odds"]
        out.append(f"<h3>{escape(label)}</h3><p>The model spends {num(scale, 1)} points per unit of log-odds.</p>")
        out.append(_img(plots.rule_lift_chart(lifts["rules"], label), f"rule lift, {label}"))
        rows = []
        for r in lifts["rules"]:
            on, off = _rate_cells(r["triggered"]), _rate_cells(r["not_triggered"])
            flag = f'<span class="flag">{escape(r["flag"])}</span>' if r["flag"] else ""
            suggested = "" if r["suggested_points"] is None else f"{r['suggested_points']:g}"
            rows.append(
                [
                    escape(r["rule"]),
                    r["kind"],
                    f"{r['points']:g}",
                    on[0],
                    on[2],
                    on[3],
                    off[2],
                    off[3],
                    num(r["lift"], 2),
                    flag,
                    suggested,
                ]
            )
        out.append(_table(header, rows))
    return "".join(out)


def _drift(drift: Mapping[str, Any]) -> str:
    out = [_img(plots.drift_chart(drift), "drift by month")]
    rows = [[escape(g["group"]), *_rate_cells(g)] for g in drift["conversion"]]
    out.append(_table(["month", "rows", "converted", "rate", "95% interval"], rows))
    for label, months in drift["scores"].items():
        rows = [[escape(m["month"]), m["rows"], *(num(m[k], 2) for k in ("mean", "p25", "p50", "p75"))] for m in months]
        out.append(f"<h3>{escape(label)}</h3>" + _table(["month", "rows", "mean", "p25", "median", "p75"], rows))
    return "".join(out)


def _funnel(funnels: Mapping[str, Any]) -> str:
    out = []
    for label, funnel in funnels.items():
        out.append(f"<h3>{escape(label)}</h3>" + _img(plots.funnel_chart(funnel, label), f"funnel, {label}"))
        out.append(
            _table(
                ["step", "leads", "share"], [[escape(s["step"]), s["leads"], pct(s["share"])] for s in funnel["steps"]]
            )
        )
        steps = [s["step"] for s in funnel["steps"][1:]]
        rows = [
            [escape(t["tier"]), *(f"{num(t['median_days'][s], 1)} (n={t['leads'][s]})" for s in steps)]
            for t in funnel["days_by_tier"]
        ]
        out.append("<p>Median days from creation, by tier at the first snapshot:</p>")
        out.append(_table(["tier", *steps], rows))
    return "".join(out)
