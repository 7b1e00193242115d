"""Before anything is timed: every registered variant of the ops a case runs is checked
against the reference on the arguments that case passes to it."""
from ..kernels import registry


def record_calls(fn):
    """{op: (args, params, variant that ran)} for the kernel calls of one ``fn()``."""
    with registry.profile() as profile:
        fn()
    return {name: (e["args"], e["params"], e["variant"]) for name, e in profile.ops.items()}


def check_variants(op_name, args, params, device):
    """{variant name: "ok" | "declined" | "unavailable" | "FAILED: why"} for every variant
    of ``op_name`` on ``device``, each run on copies of ``args`` against the reference."""
    op = registry.get(op_name)
    if not op.validate:     # random results (dropout): nothing to compare
        return {}
    reference = op.reference(device)
    expected = reference.fn(*registry._copy_arrays(args), **params)
    verdicts = {}
    for variant in op.variants.values():
        if variant.device != device or variant is reference:
            continue
        if not variant.available:
            verdicts[variant.name] = "unavailable"
            continue
        copies = registry._copy_arrays(args)
        try:
            got = variant.fn(*copies, **params)
            registry._check_same(op_name, variant.name, got, expected)
        except NotImplementedError:
            verdicts[variant.name] = "declined"
        except Exception as error:  # noqa: BLE001  (a crash or mismatch is the finding)
            verdicts[variant.name] = f"FAILED: {type(error).__name__}: {error}"
        else:
            verdicts[variant.name] = "ok"
    return verdicts


def validate_case(fn, device):
    """Run ``fn`` once recording its kernel calls and check every variant of each op it
    called on those arguments. Returns ({op: verdicts}, failures) where failures lists the
    variants that ran in this case and failed ("op: variant FAILED ..."): such a case is not
    timed as correct."""
    calls = record_calls(fn)
    verdicts, failures = {}, []
    for op_name, (args, params, ran) in sorted(calls.items()):
        verdicts[op_name] = check_variants(op_name, args, params, device)
        verdict = verdicts[op_name].get(ran, "ok")
        if verdict.startswith("FAILED"):
            failures.append(f"{op_name}: {ran} {verdict}")
    return verdicts, failures
