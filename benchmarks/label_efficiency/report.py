"""Write RESULTS.md from the runs' results.json files (every figure in it comes from those files).

The peers' figures are quoted from issue 4, where small-text 1.4.1 and modAL 0.4.2 were measured
with the same protocol on the same splits.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# Quoted from issue 4: best peer strategy, AUC, L95, L98; random's AUC, L95, L98 (None: not reached).
PEERS = {
    "sms_protocol": ("entropy / breaking ties / least confidence", 0.951, 90, 165, 0.904, 365, ">= 790"),
    "banking77_protocol": ("breaking ties (margin)", 0.856, 1060, 1640, 0.818, 1900, "not reached"),
}


def load(name: str) -> dict | None:
    path = HERE / name / "results.json"
    return json.loads(path.read_text()) if path.is_file() else None


def relative_command(command: str) -> str:
    """The recorded command with this machine's folders written relative to the repository root."""
    return command.replace(f"{REPO.parent}/shared/", "../shared/").replace(f"{REPO}/", "")


def fmt_labels(value: int | None) -> str:
    return "not reached" if value is None else f"{value:,}"


def fmt_saving(saving: dict | None) -> str:
    if saving is None:
        return "-"
    return f"{'>= ' if saving['at_least'] else ''}{saving['percent']:.0f} %"


def strategy_table(results: dict) -> list[str]:
    summary = results["summary"]
    budgets = list(next(iter(summary["strategies"].values()))["f1_at"])
    lines = [
        "| strategy | AUC (± sd over repeats) | "
        + " | ".join(f"F1 @ {int(b):,}" for b in budgets)
        + " | L90 | L95 | L98 | saved vs random @95 % | @98 % | select s/round |",
        "|---" * (8 + len(budgets)) + "|",
    ]
    for name, e in sorted(summary["strategies"].items(), key=lambda kv: -kv[1]["auc"]):
        savings = e.get("saving_vs_random", {})
        lines.append(
            f"| {name} | {e['auc']:.4f} ± {e['auc_std']:.4f} | "
            + " | ".join("-" if e["f1_at"][b] is None else f"{e['f1_at'][b]:.3f}" for b in budgets)
            + f" | {fmt_labels(e['labels_to']['0.90'])} | {fmt_labels(e['labels_to']['0.95'])}"
            f" | {fmt_labels(e['labels_to']['0.98'])} | {fmt_saving(savings.get('0.95'))}"
            f" | {fmt_saving(savings.get('0.98'))} | {e['mean_select_seconds']:.2f} |"
        )
    return lines


def stopping_table(results: dict, strategies: list[str]) -> list[str]:
    lines = [
        "| strategy | rule | fired in | at labels | macro-F1 then | at budget | gain if continued |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in strategies:
        entry = results["summary"]["strategies"].get(name)
        if entry is None:
            continue
        for rule, s in entry["stopping"].items():
            if s["fired_in"] == 0:
                lines.append(f"| {name} | {rule} | 0 of {s['repeats']} | - | - | - | - |")
            else:
                lines.append(
                    f"| {name} | {rule} | {s['fired_in']} of {s['repeats']} | {s['labels']:,.0f} | "
                    f"{s['macro_f1_at_stop']:.3f} | {s['macro_f1_at_budget']:.3f} | {s['gain_if_continued']:+.3f} |"
                )
    return lines


def head_to_head(name: str, results: dict) -> str:
    peer, p_auc, p_l95, p_l98, r_auc, r_l95, r_l98 = PEERS[name]
    best_name, best = max(results["summary"]["strategies"].items(), key=lambda kv: kv[1]["auc"])
    ours_random = results["summary"]["strategies"].get("random")
    random_text = (
        (
            f"{ours_random['auc']:.3f}, {fmt_labels(ours_random['labels_to']['0.95'])}, "
            f"{fmt_labels(ours_random['labels_to']['0.98'])}"
        )
        if ours_random
        else "-"
    )
    versions = results["info"].get("strategy_versions", {})
    return (
        f"| {name.split('_')[0]} | textal {best_name} ({versions.get(best_name, '?')}) | {best['auc']:.3f} | "
        f"{fmt_labels(best['labels_to']['0.95'])} | "
        f"{fmt_labels(best['labels_to']['0.98'])} | {random_text} |\n"
        f"| | best peer: {peer} | {p_auc:.3f} | {p_l95:,} | {p_l98:,} | {r_auc:.3f}, {r_l95:,}, {r_l98} |"
    )


def mean_curve(results: dict, strategy: str) -> dict[int, float]:
    """Label count -> mean test macro-F1 over repeats."""
    points: dict[int, list[float]] = {}
    for r in results["rounds"]:
        if r["strategy"] == strategy:
            points.setdefault(r["labels"], []).append(r["macro_f1"])
    return {n: sum(v) / len(v) for n, v in sorted(points.items())}


def notes(banking: dict) -> list[str]:
    """What the BANKING77 run says about the committees and the moonshot, with its own figures."""
    s = banking["summary"]["strategies"]
    target = 0.98 * banking["full_data"]["macro_f1"]
    curve = mean_curve(banking, "hybrid")
    near = ", ".join(f"{f:.4f} at {n:,}" for n, f in curve.items() if 1200 <= n <= 1700)
    reached = s["hybrid"]["labels_to"]["0.98"]
    before = max((n for n in curve if reached is not None and n < reached), default=None)
    slope = (curve[reached] - curve[before]) if before is not None else float("nan")
    return [
        "## Notes",
        "",
        "- **Method.** Strategies were designed on a validation split of the training data (80 % pool, 20 % "
        "validation), never on the test split; the test split was used once, for the runs recorded here.",
        "- **hybrid (hybrid.v2)** takes the top 30n, 10n, then 3n pool items by margin as labels per class pass "
        "8 and 20, and picks one item per cluster of a margin-weighted k-means among them: diversity while the "
        "model knows little about each class, uncertainty after. On the validation split a constant factor "
        "was best early when large (30) and late when small (3); the schedule takes both.",
        f"- **Committees are not the naive ones.** The peers' naive query-by-committee (5 bootstrap heads, "
        f"vote entropy) reached AUC 0.811 and KL-disagreement 0.539 on BANKING77, both at or below random. "
        f"textal's vote_entropy reaches {s['vote_entropy']['auc']:.3f} and kl_consensus "
        f"{s['kl_consensus']['auc']:.3f} (random {s['random']['auc']:.3f}): every bootstrap member sees every "
        "labelled class (a member blind to a class fakes disagreement on all of it), the dispute is ranked "
        "within the committee's predicted class (otherwise it piles onto classes already asked about) and "
        "weighted by the consensus's own uncertainty. They still trail margin and hybrid here.",
        f"- **Moonshot.** AUC {s['hybrid']['auc']:.3f} against the 0.87 aimed at; L98 "
        f"{fmt_labels(s['hybrid']['labels_to']['0.98'])} against 1,300 aimed at. The 98 % target is "
        f"{target:.4f}; hybrid's mean curve reads {near}. It crosses the target between {before:,} and "
        f"{reached:,} labels, on a stretch gaining {slope:.4f} per batch of 100, where L98 moves by hundreds "
        "of labels on differences of a few thousandths. We did not tune on the test split to close that gap.",
        "- **Weak strategies, reported as measured.** coreset (greedy k-center) asks about outliers first and "
        "falls far behind random on SMS spam; entropy trails random on 77-class BANKING77 early on (it favours "
        "items spread over many unlikely classes).",
        "",
    ]


def main() -> None:
    out = [
        "# Label efficiency: results",
        "",
        "Written by `benchmarks/label_efficiency/report.py` from the `results.json` of each run below; "
        "rerun everything with `make bench` (or `python -m benchmarks.label_efficiency.run`).",
        "",
    ]
    protocol = {n: load(n) for n in ("sms_protocol", "banking77_protocol")}
    if all(protocol.values()):
        out += [
            "## Head to head with the best peers (same protocol, same splits)",
            "",
            "AUC = mean test macro-F1 over all rounds, seed round included, mean of 5 repeats. "
            "L95/L98 = labels at which the mean curve first reaches 95 %/98 % of the full-data macro-F1.",
            "",
            "| dataset | strategy | AUC | L95 | L98 | random: AUC, L95, L98 |",
            "|---|---|---|---|---|---|",
        ]
        out += [head_to_head(n, r) for n, r in protocol.items()]
        out.append("")
        out += notes(protocol["banking77_protocol"])
    for name, title in (
        ("sms_protocol", "SMS spam, peers' protocol (seed 25, batch 25, budget 1,000, no random mix)"),
        ("banking77_protocol", "BANKING77, peers' protocol (seed 100, batch 100, budget 3,000, no random mix)"),
        ("sms_practice", "SMS spam, practitioner's protocol (batch 50, 10 % random, 10 % evaluation slice)"),
        ("banking77_practice", "BANKING77, practitioner's protocol (batch 200, 10 % random, 10 % evaluation slice)"),
    ):
        results = load(name)
        if results is None:
            continue
        env = results["environment"]
        wall = HERE / name / "wall_seconds.txt"
        out += [
            f"## {title}",
            "",
            f"![learning curves]({name}/learning_curves.png)",
            "",
            f"Full-data macro-F1 (same model, every training label): {results['full_data']['macro_f1']:.4f}.",
            "",
        ]
        out += strategy_table(results)
        if name.endswith("practice"):
            out += ["", "Stopping rules: where each would have fired, and what labelling on to the budget gained.", ""]
            out += stopping_table(results, list(results["settings"]["strategies"]))
        out += [
            "",
            f"Command: `{relative_command(results['command'])}`  ",
            f"Wall time: {wall.read_text().strip() if wall.is_file() else '?'} s "
            f"on {env['cpus']} CPUs ({env['machine']}), Python {env['python']}, "
            + ", ".join(f"{k} {v}" for k, v in env["packages"].items())
            + f", textal {env['textal']}.",
            "",
        ]
    (HERE / "RESULTS.md").write_text("\n".join(out) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
