"""Resource and invoke handlers, one module per AWS service.

Importing this package registers every handler; the engine looks them up by type token in
``RESOURCE_HANDLERS`` and ``INVOKE_HANDLERS``.
"""

from . import batch, ec2, iam, index, kms, logs, s3, ssm  # noqa: F401  (imported to register)
from .registry import INVOKE_HANDLERS, RESOURCE_HANDLERS, Created, Ctx

__all__ = ["INVOKE_HANDLERS", "RESOURCE_HANDLERS", "Created", "Ctx"]
