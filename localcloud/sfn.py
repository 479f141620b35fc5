"""Step Functions executions in the local cloud: moto's state-machine interpreter, with the four gaps that
stop Metaflow's machines closed the way AWS behaves (FACTS.md, "Step Functions").

Installed in the moto server's process (:mod:`localcloud.motoserver`), together with
``{"stepfunctions": {"execute_state_machine": true}}`` (:func:`localcloud.server.configure_moto`):

1. **Batch parameters**: a ``arn:aws:states:::batch:submitJob.sync`` task passes ``JobName``,
   ``JobQueue``, ``ContainerOverrides.Environment[].Name``... to Batch as written. AWS maps them onto the
   API's own member names (``jobName``, ``containerOverrides.environment[].name``); moto's interpreter has
   that mapping but never calls it. The patch maps requests with botocore's Batch model, and maps the
   ``DescribeJobs`` result back to the PascalCase names the next state reads (``$.JobId``, ``$.Parameters``).
2. **Execution names**: ``StartExecution`` without a name gets a UUID (as on AWS), not ``None`` — Metaflow
   makes the run id ``sfn-<name>``.
3. **Re-created machines**: ``CreateStateMachine`` for an existing name with another definition or role
   fails with ``StateMachineAlreadyExists`` (as on AWS), so ``step-functions create`` updates the machine
   instead of silently running the old definition.
4. **Multi-key JSONPath**: ``$.['JobId', 'Parameters']`` selects those keys into an object (AWS), not a list.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

from jsonpath_ng.jsonpath import Child, Fields


def select_fields(path_expr: Any, matches: list[Any]) -> dict[str, Any] | None:
    """AWS's reading of a path ending in ``.['a', 'b']``: an object with those keys (None: not such a path)."""
    if not isinstance(path_expr, Child) or not isinstance(path_expr.right, Fields) or len(path_expr.right.fields) < 2:
        return None
    contexts = {id(m.context) for m in matches}
    if len(contexts) != 1:
        return None
    return {str(m.path.fields[0]): m.value for m in matches}


def _patch_json_path() -> None:
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (imports every component that binds extract_json)
    from jsonpath_ng.ext import parse
    from moto.stepfunctions.parser.asl.utils import json_path

    original = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        expr = parse(path)
        matches = expr.find(data)
        if matches:
            selected = select_fields(expr, matches)
            if selected is not None:
                return selected
        return original(path, data)

    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "extract_json", None) is original:
            module.extract_json = extract_json


def _operation_name(model: Any, action: str) -> str:
    wanted = action.replace("_", "").lower()
    for name in model.operation_names:
        if name.lower() == wanted:
            return name
    raise ValueError(f"{model.service_name} has no operation {action!r}")


def _patch_batch_integration() -> None:
    import botocore.session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
        StateTaskServiceBatch,
    )

    model = botocore.session.get_session().get_service_model("batch")

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None) -> None:
        operation = _operation_name(model, service_action_name or self.resource.api_action)
        shape = model.operation_model(operation).input_shape
        if shape is not None:
            self._to_boto_request(parameters, shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None) -> None:
        operation = _operation_name(model, service_action_name or self.resource.api_action)
        shape = model.operation_model(operation).output_shape
        if shape is not None:
            self._from_boto_response(response, shape)

    StateTaskServiceBatch._normalise_parameters = _normalise_parameters
    StateTaskServiceBatch._normalise_response = _normalise_response


def _patch_backend() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    class StateMachineAlreadyExists(JsonRESTError):
        code = 400

        def __init__(self, arn: str) -> None:
            super().__init__("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")

    original_start = StepFunctionsParserBackend.start_execution
    original_create = StepFunctionsParserBackend.create_state_machine

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    def create_state_machine(self, name, definition, roleArn, *args, **kwargs):
        existing = self._revision_by_name(name)
        if existing is not None and (existing.definition != definition or existing.roleArn != roleArn):
            raise StateMachineAlreadyExists(existing.arn)
        return original_create(self, name, definition, roleArn, *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution
    StepFunctionsParserBackend.create_state_machine = create_state_machine


def install() -> None:
    """Apply the four fixes (call once, in the moto server process)."""
    _patch_json_path()
    _patch_batch_integration()
    _patch_backend()
