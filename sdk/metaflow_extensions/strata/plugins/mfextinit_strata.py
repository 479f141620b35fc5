"""Metaflow plugins of the Strata extension (loaded by Metaflow's extension mechanism: plugins/mfextinit_*.py).

One AWS client provider, ``strata``: Metaflow's boto3 clients with the team's rules on Batch and Step
Functions calls. A profile selects it with ``METAFLOW_DEFAULT_AWS_CLIENT_PROVIDER=strata``.
"""

AWS_CLIENT_PROVIDERS_DESC = [("strata", ".aws_client.StrataClientProvider")]
