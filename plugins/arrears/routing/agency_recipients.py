"""One work-queue recipient per agency, derived from the agencies file (business rules §9).

recipients.yml describes the agency file once, as a template (`per_agency: true`); each active
agency of dbt_project/seeds/agencies.csv becomes its own recipient `agency_<id>`, receiving only
the rows with team_id `agency:<id>` (the loans placed with it), in its own folder, through its own
SFTP connection (AIRFLOW_CONN_ARREARS_SFTP_AGENCY_<ID>). Nothing is copied into recipients.yml by
hand: adding an agency to the agencies file adds its recipient.
"""

from __future__ import annotations

from typing import Any

from arrears.agencies import load_agencies


def expand_per_agency(recipients: dict[str, Any]) -> dict[str, Any]:
    """The raw recipients with each `per_agency` template replaced by one recipient per active agency."""
    expanded: dict[str, Any] = {}
    for name, raw in recipients.items():
        if not (isinstance(raw, dict) and raw.get("per_agency")):
            expanded[name] = raw
            continue
        template = {key: value for key, value in raw.items() if key != "per_agency"}
        for agency in load_agencies():
            if agency.active:
                description = str(template.get("description", "")).strip()
                expanded[f"{name}_{agency.agency_id}"] = {
                    **template,
                    "description": f"{description} - {agency.agency_id}".strip(" -"),
                    "teams": [agency.team_id],
                }
    return expanded
