"""pulumi-random, computed on this machine: no cloud call (AWS has no part in it), exactly as the random
provider computes its values locally during `pulumi up`."""

from __future__ import annotations

import secrets
import string
from typing import Any

from .registry import Created, Ctx, resource

_SPECIAL_DEFAULT = "!@#$%&*()-_=+[]{}<>:?"


@resource("random:index/randomPassword:RandomPassword")
def random_password(ctx: Ctx, name: str, inputs: dict[str, Any]) -> Created:
    """A password from the requested character classes, generated locally with ``secrets`` (CSPRNG)."""
    length = int(inputs["length"])
    classes = []
    if inputs.get("lower", True):
        classes.append((string.ascii_lowercase, int(inputs.get("minLower", 0))))
    if inputs.get("upper", True):
        classes.append((string.ascii_uppercase, int(inputs.get("minUpper", 0))))
    if inputs.get("numeric", inputs.get("number", True)):
        classes.append((string.digits, int(inputs.get("minNumeric", 0))))
    if inputs.get("special", True):
        classes.append((inputs.get("overrideSpecial") or _SPECIAL_DEFAULT, int(inputs.get("minSpecial", 0))))
    if not classes:
        raise ValueError("every character class is turned off")
    chars = [secrets.choice(pool) for pool, minimum in classes for _ in range(minimum)]
    alphabet = "".join(pool for pool, _ in classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    value = "".join(chars)
    ctx.note(f"random password {name}: computed locally (pulumi-random runs in the engine, never in AWS)")
    return Created(id="none", outputs={"result": value, "bcryptHash": ""})
