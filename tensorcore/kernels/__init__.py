"""tc.kernels: list, choose and check the kernel variants behind every hot op.

    tc.kernels.list("matmul")                    # variants, availability, which is active
    with tc.kernels.use(matmul="cpu.reference"):  # force a variant inside the block
        ...
    with tc.kernels.profile() as prof:           # which variant ran, how often, how long
        ...
"""
import builtins
from collections import namedtuple

from . import catalog  # noqa: F401  (defines every op)
from .registry import (Profile, get, ops, profile, reference, register, set_validate, unregister,
                       use, validate)

VariantInfo = namedtuple("VariantInfo", "op name device priority available active")


def list(op=None, device=None):  # noqa: A001  (the public name in SPEC.md)
    """Every registered variant (or those of ``op`` / ``device``), first choice first."""
    rows = []
    for target in ops().values():
        if op is not None and target.name != op:
            continue
        devices_seen = sorted({v.device for v in target.variants.values()})
        for dev in devices_seen:
            if device is not None and dev != str(device).split(":")[0]:
                continue
            chain = target.chain(dev)
            active = chain[0].name if chain else None
            ordered = builtins.list(chain) + [v for v in target.variants.values()
                                               if v.device == dev and v not in chain]
            rows += [VariantInfo(target.name, v.name, dev, v.priority, v.available,
                                 v.name == active) for v in ordered]
    if op is not None and not rows and op not in ops():
        raise ValueError(f"kernels.list: unknown op {op!r}; known ops: {sorted(ops())}")
    return rows


__all__ = ["list", "use", "validate", "set_validate", "profile", "Profile", "get", "ops",
           "register", "unregister", "reference", "VariantInfo"]
