"""The state of the compliance cases the simulator plays (generate/restriction_cases.py), and their ground truth.

- Per-number refusals: a borrower asks that one of their own numbers not be used, or a contact person
  (emergency contact, employer) refuses further contact: a `do_not_contact` naming that `contact_point_id`.
  Normal work never uses a barred number; sometimes a collector still calls a barred own number
  (`contact_to_barred_number`, the only rule a per-number bar triggers).
- SMS bars on pre-due loans: a `do_not_contact` for `sms` on a borrower with a pre-due loan (the queue then
  leaves `app_push` only); sometimes the reminder SMS goes out anyway (`contact_during_restriction`).
- Contacts during a dispute, a cease_communication, a death, a bankruptcy, a legal hold or an open legal case
  (`contact_during_restriction`): a call by the loan's stage team, a letter by an agency during a
  cease_communication, or a legal letter during a dispute on a loan that has no legal route (no open case).
- Complaints after contacts (the simulator files them after right-party contacts): each is attributed to the
  teams and agents that acted on the borrower in its days C-6..C, written when day C is simulated.

Ground truth beside the landing folder: `number_bars.csv` and `complaints.csv` (violations go to `violations.csv`
with the other injected ones). Injected actions use borrowers no other injection used that day and stay inside
every other rule (10:00-17:00, no_answer, a valid own number that is not barred), so each breaks exactly one rule.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RNG_CASES = 20  # a stream of its own: the other streams (and so the rest of the book) stay as they were
ATTRIBUTION_DAYS = 7  # a complaint on day C: actions on C-6 .. C (business rules §7)
HOUR = 3600
# Per day, as a share of the borrowers that qualify (at least one a day when any does).
NUMBER_REFUSAL_SHARE = 0.0002
SMS_BAR_SHARE_OF_PREDUE = 0.01
DURING_RESTRICTION_PER_DAY = 1.0  # Poisson mean per kind of case
BARRED_NUMBER_CALLS_PER_DAY = 1.0
NUMBER_BAR_TRUTH_HEADER = "restriction_id,contact_point_id,effective_from,effective_to\n"
COMPLAINT_TRUTH_HEADER = "complaint_id,complaint_date,team_id,agent_id\n"


@dataclass
class ComplianceCases:
    """Per-number bars in force and the last days' actions (for complaint attribution)."""

    number_bars: list[tuple[int, int, int | None]] = field(default_factory=list)  # (contact, from, to)
    recent: deque[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=lambda: deque(maxlen=ATTRIBUTION_DAYS)
    )  # (day, borrower, loan, team, agent)
    number_bar_truth: list[str] = field(default_factory=list)
    complaint_truth: list[str] = field(default_factory=list)

    def barred(self, contacts: int, day: int) -> np.ndarray:
        """Per contact point: barred on `day` by a per-number do_not_contact."""
        mask = np.zeros(contacts + 1, bool)  # the extra last slot is what contact -1 (none) indexes
        for contact, start, end in self.number_bars:
            if start <= day and (end is None or end >= day):
                mask[contact] = True
        mask[-1] = False
        return mask

    def write_truth(self, truth: Path) -> None:
        """Append the day's per-number bars and complaint attributions to the truth folder."""
        for name, header, lines in (
            ("number_bars.csv", NUMBER_BAR_TRUTH_HEADER, self.number_bar_truth),
            ("complaints.csv", COMPLAINT_TRUTH_HEADER, self.complaint_truth),
        ):
            path = truth / name
            if not path.exists():
                path.write_text(header, encoding="utf-8")
            with path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)
        self.forget_truth()

    def forget_truth(self) -> None:
        """Drop the day's truth lines (a re-simulated day that was delivered before)."""
        self.number_bar_truth.clear()
        self.complaint_truth.clear()
