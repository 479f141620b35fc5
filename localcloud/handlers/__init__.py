"""Resource and invoke handlers, one module per AWS service.

Importing this package registers every handler; the engine looks them up by type token in
``RESOURCE_HANDLERS`` and ``INVOKE_HANDLERS``.
"""

import localcloud.handlers.apigateway  # noqa: F401  (metadata layer: rest-api-nlb front door)
import localcloud.handlers.apigatewayv2  # noqa: F401  (metadata layer)
import localcloud.handlers.appautoscaling  # noqa: F401  (metadata layer)
import localcloud.handlers.ec2_instances  # noqa: F401  (EC2 launch templates, instances, AMI look-ups)
import localcloud.handlers.ec2_security_groups  # noqa: F401  (EC2 security groups and their rules)
import localcloud.handlers.ecs  # noqa: F401  (metadata layer)
import localcloud.handlers.elbv2  # noqa: F401  (metadata layer: NLB front door, UI ALB)
import localcloud.handlers.lambda_  # noqa: F401  (metadata layer)
import localcloud.handlers.random_  # noqa: F401  (metadata layer)
import localcloud.handlers.rds  # noqa: F401  (metadata layer)
import localcloud.handlers.secretsmanager  # noqa: F401  (metadata layer)
import localcloud.handlers.secretsmanager_reads  # noqa: F401  (metadata UI: OIDC client secret)
import localcloud.handlers.servicediscovery  # noqa: F401  (metadata layer)

from . import batch, budgets, cloudwatch, dynamodb, ec2, eks, events, iam, index, kms, logs, redshift, s3, sns, ssm  # noqa: F401  (imported to register)
from .registry import INVOKE_HANDLERS, RESOURCE_HANDLERS, Created, Ctx

__all__ = ["INVOKE_HANDLERS", "RESOURCE_HANDLERS", "Created", "Ctx"]
