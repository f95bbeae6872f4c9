"""`arrears generate`: write landing deliveries and the ground truth beside them."""

from __future__ import annotations

import datetime
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arrears.contract import entity_names, load_contract
from arrears.errors import ArrearsError
from arrears.generate.activity import RULES, Activity
from arrears.generate.delivery import FaultInjector, write_csv, write_manifest
from arrears.generate.experiment import write_experiment_truth
from arrears.generate.params import load_params
from arrears.generate.plans_truth import write_truth
from arrears.generate.portfolio import RNG_FAULTS, day_rng
from arrears.generate.rows import action_id
from arrears.generate.score_truth import write_borrower_types
from arrears.generate.simulator import simulate_days

EPOCH = datetime.date(1970, 1, 1)


def day_number(date: datetime.date) -> int:
    """Days since 1970-01-01."""
    return (date - EPOCH).days


def day_date(day: int) -> datetime.date:
    """The date of a day number."""
    return EPOCH + datetime.timedelta(days=day)


@dataclass
class Summary:
    """What one `generate` call wrote."""

    out: Path
    truth: Path
    first: datetime.date
    days: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    faults: int = 0
    violations: int = 0

    def __str__(self) -> str:
        last = self.first + datetime.timedelta(days=self.days - 1)
        counts = ", ".join(f"{name} {count}" for name, count in self.rows.items())
        return (
            f"wrote {self.days} deliveries {self.first}..{last} to {self.out}: {counts}; "
            f"{self.faults} malformed rows injected, {self.violations} compliance violations injected; "
            f"ground truth in {self.truth}"
        )


def truth_folder(out: Path) -> Path:
    """Where the ground truth of a landing folder lives: beside it, never inside."""
    return Path(str(out) + "_truth")


def generate(
    loans: int,
    start: datetime.date,
    days: int,
    seed: int,
    out: Path,
    inject_faults: float = 0.0,
    experiment: bool = False,
) -> Summary:
    """Write `days` deliveries from `start` into `out` (continuing the folder when `start` follows its last day).

    With `experiment`, the simulated champion/challenger experiment of behaviour.yml is on (generate/experiment.py).
    """
    out = Path(out)
    truth = truth_folder(out)
    settings: dict[str, object] = {"seed": seed, "loans": loans, "inject_faults": inject_faults}
    if experiment:
        settings["experiment"] = True  # recorded only when on: folders written before it continue unchanged
    anchor = _anchor(out, truth, start, settings)
    if anchor == start:
        if truth.exists():
            shutil.rmtree(truth)
        truth.mkdir(parents=True)
        (truth / "params.json").write_text(json.dumps({**settings, "first_date": start.isoformat()}, indent=2) + "\n")
        (truth / "violations.csv").write_text("action_id,business_date,rule\n", encoding="utf-8")
        (truth / "faults.csv").write_text("business_date,entity,file,line_no,reason\n", encoding="utf-8")
    summary = Summary(out=out, truth=truth, first=start)
    contract = load_contract()
    source = load_params()["portfolio"]["source_system"]
    first, last = day_number(start), day_number(start) + days - 1
    activity: Activity | None = None
    day = None
    for day in simulate_days(loans, day_number(anchor), last, seed, experiment):
        if day.day < first:
            day.cases.forget_truth()
            continue  # re-simulated to rebuild the state; already delivered
        date = day_date(day.day).isoformat()
        folder = out / date
        folder.mkdir(parents=True, exist_ok=True)
        injector = FaultInjector(inject_faults, day_rng(seed, day.day, RNG_FAULTS), day.earlier_events)
        files = []
        fault_lines = []
        for name in entity_names():
            entity = contract.entity(name)
            rows, sha256, faults = write_csv(
                folder / f"{name}.csv", entity, day.rows[name], injector if inject_faults else None, date
            )
            files.append({"entity": name, "file": f"{name}.csv", "rows": rows, "sha256": sha256})
            summary.rows[name] = summary.rows.get(name, 0) + rows
            fault_lines += [f"{date},{f.entity},{f.file},{f.line_no},{f.reason}\n" for f in faults]
        extracted = (day_date(day.day) + datetime.timedelta(days=1)).isoformat() + "T01:05:00+08:00"
        write_manifest(folder, date, source, extracted, files)
        injected = np.nonzero(day.actions.rule >= 0)[0]
        with (truth / "violations.csv").open("a", encoding="utf-8") as handle:
            handle.writelines(f"{action_id(day.day, int(i))},{date},{RULES[day.actions.rule[i]]}\n" for i in injected)
        with (truth / "faults.csv").open("a", encoding="utf-8") as handle:
            handle.writelines(fault_lines)
        day.cases.write_truth(truth)
        summary.days += 1
        summary.faults += len(fault_lines)
        summary.violations += len(injected)
        if experiment and day.day == last:
            write_experiment_truth(truth, anchor, day.portfolio)
        activity = day.activity
    if activity is not None:  # the arrangements' and legal cases' truth as of the last day written
        write_truth(truth, activity.arrangements, activity.legal_cases, last)
    if day is not None:
        write_borrower_types(truth, day.portfolio)
    return summary


def _anchor(out: Path, truth: Path, start: datetime.date, settings: dict[str, object]) -> datetime.date:
    """The first delivery date of the book being written: `start` for a fresh folder, else the recorded one."""
    existing = sorted(p.name for p in out.glob("????-??-??") if (p / "_manifest.json").exists()) if out.exists() else []
    if not existing:
        return start
    last = datetime.date.fromisoformat(existing[-1])
    if start != last + datetime.timedelta(days=1):
        raise ArrearsError(
            f"{out} already holds deliveries up to {last}: continue with --start {last + datetime.timedelta(days=1)} "
            "or write to an empty folder"
        )
    params_file = truth / "params.json"
    if not params_file.exists():
        raise ArrearsError(f"cannot continue {out}: {params_file} (the simulator's parameters) is missing")
    recorded = json.loads(params_file.read_text())
    for key, value in settings.items():
        if recorded.get(key) != value:
            raise ArrearsError(f"cannot continue {out}: it was generated with {key}={recorded.get(key)}, not {value}")
    return datetime.date.fromisoformat(recorded["first_date"])
