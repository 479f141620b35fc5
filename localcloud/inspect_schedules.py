"""Print a team's state machines and their EventBridge schedules (run in the team's environment).

``python -m localcloud.inspect_schedules`` with ``METAFLOW_PROFILE=local-<team>`` and the local env file
sourced: lists what ``step-functions create`` put into the local cloud under the team's prefix (the
profile's ``METAFLOW_SFN_STATE_MACHINE_PREFIX``), straight from the Step Functions and EventBridge APIs.
``--json`` prints the same as JSON (the end-to-end tests read it).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _prefix() -> str:
    from metaflow.metaflow_config import SFN_STATE_MACHINE_PREFIX

    if not SFN_STATE_MACHINE_PREFIX:
        raise SystemExit("no METAFLOW_SFN_STATE_MACHINE_PREFIX: set METAFLOW_PROFILE to a Strata team profile")
    return SFN_STATE_MACHINE_PREFIX + "_"  # Metaflow joins prefix and flow name with "_"


def collect(name_prefix: str) -> list[dict[str, Any]]:
    import boto3

    sfn = boto3.client("stepfunctions")
    events = boto3.client("events")
    machines = [
        m
        for page in sfn.get_paginator("list_state_machines").paginate()
        for m in page["stateMachines"]
        if m["name"].startswith(name_prefix)
    ]
    rules = {r["Name"]: r for page in events.get_paginator("list_rules").paginate(NamePrefix=name_prefix) for r in page["Rules"]}
    rows = []
    for machine in sorted(machines, key=lambda m: m["name"]):
        described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        schedules = []
        for rule in rules.values():
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                if target["Arn"] == machine["stateMachineArn"]:
                    schedules.append(
                        {
                            "rule": rule["Name"],
                            "schedule": rule.get("ScheduleExpression"),
                            "state": rule.get("State"),
                            "role": target.get("RoleArn"),
                        }
                    )
        rows.append(
            {"name": machine["name"], "arn": machine["stateMachineArn"], "role": described["roleArn"], "schedules": schedules}
        )
    return rows


def main(argv: list[str]) -> None:
    rows = collect(_prefix())
    if "--json" in argv:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no state machines yet: run `python <flow>.py step-functions create` with this profile")
    for row in rows:
        print(f"{row['name']}  (role {row['role'].split('/')[-1]})")
        for s in row["schedules"] or [{"rule": "-", "schedule": "no schedule: start it with `step-functions trigger`"}]:
            print(f"    {s['rule']}: {s['schedule']}" + (f" [{s['state']}]" if s.get("state") else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
