"""The registry of moto patches (``cloudkata.sandbox.patches``).

Each import-order scenario runs in a fresh interpreter, as the sandbox process does, so the
test process's own moto is never patched by these tests. What is checked:

* every attribute we replace exists in the installed moto before any patch (a moto upgrade
  that renames one fails here, with its name), and every attribute we add does not;
* no moto class or module holds a cloudkata function that the registry does not know of;
* any import order of the behaviour modules gives the same patches, each wrapper wrapping
  moto's own function exactly once;
* re-importing (reloading) every module and installing again changes nothing.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cloudkata.sandbox import patches

pytestmark = pytest.mark.xdist_group("patches")  # one worker runs the interpreters, once

# --- the script each fresh interpreter runs ---------------------------------------------------

SCRIPT = r'''
import importlib, inspect, json, os, pkgutil, sys
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # as the sandbox server does
args = json.loads(sys.argv[1])
MISSING = object()


def resolve(module, qualname):
    owner = importlib.import_module(module)
    for part in qualname.split(".") if qualname else []:
        owner = getattr(owner, part)
    return owner


# moto as installed, before any cloudkata module is imported
pristine = {}
for t in args.get("targets", []):
    owner = resolve(t["module"], t["qualname"])
    pristine[t["target"]] = getattr(owner, t["attribute"], MISSING)

from cloudkata.sandbox import behaviours, fidelity, patches  # noqa: E402


def load(unit):
    if unit == "fidelity":
        fidelity.apply_all()  # what make_app does before loading the behaviours
    else:
        importlib.import_module(f"{behaviours.__name__}.{unit}")


def describe(value):
    if value is MISSING or value is patches.MISSING:
        return "MISSING"
    if isinstance(value, property):
        return f"property({describe(value.fget)})"
    name = getattr(value, "__qualname__", None)
    module = getattr(value, "__module__", None) or getattr(
        getattr(value, "__objclass__", None), "__module__", "?")
    return f"{module}.{name}" if name else repr(value)


def ours(value):
    try:
        inners = (value, getattr(value, "fget", None), getattr(value, "fset", None),
                  getattr(value, "__func__", None))
        return any(callable(inner) and str(getattr(inner, "__module__", "")).startswith(
            "cloudkata") for inner in inners)
    except Exception:  # an odd object that answers getattr with something else
        return False


def owner_path(owner):
    if inspect.ismodule(owner):
        return owner.__name__, ""
    return owner.__module__, owner.__qualname__


def summary():
    rows = []
    for p in patches.registered():
        module, qualname = owner_path(p.owner)
        row = {"target": p.target, "module": module, "qualname": qualname,
               "attribute": p.attribute, "kind": p.kind, "by": p.by, "site": p.site,
               "why": p.why, "original": describe(p.original),
               "original_is_ours": ours(p.original), "applied": p.applied}
        if p.target in pristine:
            row["pristine"] = describe(pristine[p.target])
            row["original_is_pristine"] = (
                p.original is pristine[p.target]
                or (p.original is patches.MISSING and pristine[p.target] is MISSING))
        if p.kind == patches.WRAP:
            calls = inspect.getclosurevars(p.replacement).nonlocals.get("moto_function")
            row["wrapped_is_original"] = (p.replacement.__wrapped__ is p.original
                                          and calls is p.original)
        rows.append(row)
    return sorted(rows, key=lambda row: row["target"])


def unregistered():
    """moto attributes holding a cloudkata function that is not a registered patch."""
    known = {(p.owner, p.attribute) for p in patches.registered()}
    found = []
    for name, module in sorted(sys.modules.items()):
        if not (name == "moto" or name.startswith("moto.")) or module is None:
            continue
        owners = [module] + [value for value in vars(module).values()
                             if inspect.isclass(value) and value.__module__ == name]
        for owner in owners:
            for attribute, value in list(vars(owner).items()):
                if ours(value) and (owner, attribute) not in known:
                    found.append(f"{patches.owner_name(owner)}.{attribute}")
    return found


for unit in args["order"]:
    load(unit)
result = {"patches": summary(), "unregistered": unregistered()}

if args.get("again"):
    before = {p.target: id(getattr(p.owner, p.attribute, None)) for p in patches.registered()}
    records = list(patches.registered())
    for unit in args["order"]:
        if unit != "fidelity":
            importlib.reload(importlib.import_module(f"{behaviours.__name__}.{unit}"))
    importlib.reload(fidelity)
    for unit in args["order"]:
        load(unit)
    fidelity.apply_all()
    patches.install()
    patches.install()
    after = {p.target: id(getattr(p.owner, p.attribute, None)) for p in patches.registered()}
    result["again"] = {
        "same_values": before == after,
        "same_records": len(records) == len(patches.registered()) and all(
            a is b for a, b in zip(records, patches.registered())),
        "patches": summary(),
    }
print(json.dumps(result))
'''


def _units() -> list[str]:
    import pkgutil

    from cloudkata.sandbox import behaviours

    modules = sorted(module.name for module in pkgutil.iter_modules(behaviours.__path__))
    return ["fidelity", *modules]


def _run(order: list[str], targets: list[dict[str, Any]], again: bool = False) -> dict[str, Any]:
    argument = json.dumps({"order": order, "targets": targets, "again": again})
    done = subprocess.run([sys.executable, "-c", SCRIPT, argument], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (
        f"importing the sandbox's modules in the order {order} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _orders() -> dict[str, list[str]]:
    units = _units()
    orders = {"forward": units, "reversed": units[::-1],
              "eks_nodes first": ["eks_nodes", *[u for u in units if u != "eks_nodes"]]}
    for seed in (1,):
        shuffled = list(units)
        random.Random(seed).shuffle(shuffled)
        orders[f"shuffled (seed {seed})"] = shuffled
    return orders


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Any]]:
    """One fresh interpreter per import order (run in parallel), plus one importing twice."""
    first = _run(_units(), [])
    targets = [{key: row[key] for key in ("target", "module", "qualname", "attribute")}
               for row in first["patches"]]
    orders = _orders()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, order, targets) for name, order in orders.items()}
        futures["again"] = pool.submit(_run, orders["forward"], targets, True)
        return {name: future.result() for name, future in futures.items()}


# --- (a) the targets exist in the installed moto --------------------------------------------


def test_every_patched_attribute_exists_in_the_installed_moto(runs: dict[str, Any]) -> None:
    import moto

    rows = runs["forward"]["patches"]
    assert len(rows) >= 30  # every behaviour module's patches registered
    missing = [f"{row['target']} (patched by {row['by']}: {row['why']})" for row in rows
               if row["kind"] != patches.ADD and row["pristine"] == "MISSING"]
    assert not missing, (
        f"moto {moto.__version__} no longer has what these patches replace; re-measure each "
        "against the new moto and update the patch (cloudkata/sandbox/patches.py lists them "
        "all):\n  " + "\n  ".join(missing))
    obsolete = [f"{row['target']} (added by {row['by']}: {row['why']})" for row in rows
                if row["kind"] == patches.ADD and row["pristine"] != "MISSING"]
    assert not obsolete, (
        f"moto {moto.__version__} now defines what these patches add; the patch is not "
        "applied any more and should be removed:\n  " + "\n  ".join(obsolete))


def test_every_patch_is_registered_and_says_why(runs: dict[str, Any]) -> None:
    result = runs["forward"]
    assert result["unregistered"] == [], (
        "moto attributes set to cloudkata functions outside cloudkata.sandbox.patches: "
        f"{result['unregistered']}")
    for row in result["patches"]:
        assert row["why"].strip(), row["target"]
        assert row["applied"] or row["kind"] == patches.ADD, row["target"]
        assert not row["original_is_ours"], f"{row['target']} replaced one of our own patches"


def test_the_asg_launcher_has_one_patch_that_also_launches_node_groups(
        runs: dict[str, Any]) -> None:
    """ec2_autoscaling and eks_nodes both need moto's launcher: one patch, composed."""
    [row] = [row for row in runs["forward"]["patches"] if row["target"].endswith(
        "FakeAutoScalingGroup.replace_autoscaling_group_instances")]
    assert row["by"] == "cloudkata.sandbox.behaviours.ec2_autoscaling"
    assert row["kind"] == patches.REPLACE


# --- (b) any import order, the same patches -------------------------------------------------


@pytest.mark.parametrize("order", list(_orders()))
def test_patches_do_not_depend_on_import_order(runs: dict[str, Any], order: str) -> None:
    forward, other = runs["forward"]["patches"], runs[order]["patches"]
    assert [row["target"] for row in other] == [row["target"] for row in forward]
    for mine, theirs in zip(other, forward, strict=True):
        assert mine == theirs, f"{mine['target']} differs when imported {order}"
        assert mine["applied"] or mine["kind"] == patches.ADD, mine["target"]
        assert mine["original_is_pristine"], (
            f"{mine['target']} recorded {mine['original']}, not moto's {mine['pristine']}")
        if mine["kind"] == patches.WRAP:
            assert mine["wrapped_is_original"], f"{mine['target']} does not wrap moto's own"
    assert runs[order]["unregistered"] == []


# --- (c) twice is a no-op -------------------------------------------------------------------


def test_importing_and_installing_twice_changes_nothing(runs: dict[str, Any]) -> None:
    again = runs["again"]["again"]
    assert again["same_values"], "reloading the modules or installing again re-patched moto"
    assert again["same_records"]
    assert again["patches"] == runs["forward"]["patches"]


# --- the registry itself, on a stand-in class (never moto) ----------------------------------


class Stand:
    def greet(self, name: str) -> str:
        return f"hello {name}"

    def count(self) -> int:
        return 1


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(patches._REGISTRY)
    yield
    patches._REGISTRY.clear()
    patches._REGISTRY.update(saved)


def _register_greet() -> Any:
    @patches.wrap(Stand, "greet", why="louder")
    def greet(original: Any, self: Any, name: str) -> str:
        return original(self, name).upper()

    return greet


def test_a_wrapper_wraps_the_original_once_however_often_installed(registry: None) -> None:
    moto_greet = Stand.greet
    try:
        first = _register_greet()
        assert _register_greet() is first  # registering again: the same patch
        patches.install()
        patches.install()
        assert Stand.greet is first
        assert Stand().greet("x") == "HELLO X"  # not wrapped twice, not "HELLO X" of "HELLO X"
        assert patches.original(Stand, "greet") is moto_greet
        [record] = [p for p in patches.registered() if p.owner is Stand]
        assert record.original is moto_greet and record.kind == patches.WRAP
        assert record.by == __name__ and record.target.endswith("Stand.greet")
    finally:
        Stand.greet = moto_greet  # type: ignore[method-assign]


def test_a_second_module_patching_the_same_attribute_is_refused(registry: None) -> None:
    moto_count = Stand.count
    try:
        patches.patch(Stand, "count", lambda self: 2, why="two")
        other_module = {"__name__": "somewhere.else", "patches": patches, "Stand": Stand}
        with pytest.raises(patches.PatchConflict, match="Stand.count is patched twice"):
            exec("patches.patch(Stand, 'count', lambda self: 3, why='three')", other_module)
        assert Stand().count() == 2
    finally:
        Stand.count = moto_count  # type: ignore[method-assign]


def test_an_attribute_moto_lacks_is_added_but_never_overwrites_moto(registry: None) -> None:
    try:
        patches.add(Stand, "colour", None, why="absent in moto")
        assert Stand.colour is None  # type: ignore[attr-defined]
        patches.add(Stand, "count", None, why="moto has one")
        assert Stand().count() == 1
        [record] = [p for p in patches.registered() if p.attribute == "count"]
        assert not record.applied and record.original is Stand.count
    finally:
        del Stand.colour  # type: ignore[attr-defined]


def test_patching_what_moto_lacks_or_without_a_reason_is_refused(registry: None) -> None:
    with pytest.raises(AttributeError, match="Stand.nothing"):
        patches.wrap(Stand, "nothing", why="x")(lambda original, self: None)
    with pytest.raises(AttributeError, match="Stand.nothing"):
        patches.patch(Stand, "nothing", 1, why="x")
    with pytest.raises(ValueError, match="needs a reason"):
        patches.patch(Stand, "count", 1, why=" ")
    assert Stand().count() == 1


# --- one notion of ECS's dynamic host ports -------------------------------------------------


def test_the_sandbox_and_the_checks_share_one_dynamic_port_range() -> None:
    from cloudkata.checks import aws_facts, ecs, ecs_services, elbv2
    from cloudkata.sandbox.behaviours import ecs_resources

    assert ecs_resources.DYNAMIC_PORTS is aws_facts.DYNAMIC_PORTS
    assert elbv2.DYNAMIC_PORTS is aws_facts.DYNAMIC_PORTS
    assert ecs_services.DYNAMIC_PORTS is aws_facts.DYNAMIC_PORTS
    assert ecs.DYNAMIC_PORTS is aws_facts.DYNAMIC_PORTS
    assert aws_facts.DYNAMIC_PORTS == (32768, 60999)  # Amazon Linux's ip_local_port_range


def test_every_port_the_sandbox_hands_out_is_one_the_checks_accept() -> None:
    from cloudkata.checks.aws_facts import DYNAMIC_PORTS
    from cloudkata.sandbox.behaviours.ecs_resources import _dynamic_port

    low, high = DYNAMIC_PORTS
    assert _dynamic_port(set(), "tcp") == low
    all_but_last = {(port, "tcp") for port in range(low, high)}
    assert _dynamic_port(all_but_last, "tcp") == high
    with pytest.raises(RuntimeError):
        _dynamic_port(all_but_last | {(high, "tcp")}, "tcp")
