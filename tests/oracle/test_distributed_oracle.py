"""dist_torch.distributed beside torch.distributed: names, signatures, constants, errors.

Most checks need no process group. The error comparisons run one subprocess that starts a
world of one on both sides (torch: Gloo over a FileStore; dist_torch: an MPI singleton) and
records what each raises for the same bad calls.
"""

import inspect
import json

import pytest
import torch
import torch.distributed as tdist

import dist_torch as dt
import dist_torch.distributed as dist
from tests.distributed import jobs

FUNCTIONS = ["init_process_group", "is_initialized", "is_available", "is_mpi_available",
             "is_nccl_available", "get_rank", "get_world_size", "get_backend", "new_group",
             "destroy_process_group", "barrier", "monitored_barrier", "get_global_rank",
             "get_group_rank", "get_process_group_ranks", "all_reduce", "broadcast", "reduce",
             "all_gather", "all_gather_into_tensor", "gather", "scatter", "reduce_scatter",
             "reduce_scatter_tensor", "all_to_all", "all_to_all_single", "send", "recv",
             "isend", "irecv", "batch_isend_irecv", "broadcast_object_list",
             "all_gather_object", "gather_object", "scatter_object_list", "P2POp"]


def _params(fn):
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD or p.name.startswith("_"):
            continue
        default = p.default
        if default is not p.empty and hasattr(default, "name") and "Op" in type(default).__name__:
            default = f"op:{default.name}"
        out.append((p.name, "<required>" if default is p.empty else repr(default)))
    return out


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signature_matches_torch(name):
    ours, theirs = _params(getattr(dist, name)), _params(getattr(tdist, name))
    if name == "P2POp":
        theirs = theirs[:len(ours)]
    assert ours == theirs


def test_reduce_ops_and_constants_match_torch():
    theirs = [n for n in tdist.ReduceOp.RedOpType.__members__ if n != "PREMUL_SUM"]
    assert [op.name for op in dist.ReduceOp] == theirs
    assert dist.GroupMember.NON_GROUP_MEMBER == tdist.GroupMember.NON_GROUP_MEMBER
    assert dist.default_pg_timeout == tdist.default_pg_timeout
    for name in ("MPI", "NCCL", "GLOO"):
        assert getattr(dist.Backend, name) == getattr(tdist.Backend, name)
    assert dist.Backend("NCCL") == tdist.Backend("NCCL")


@pytest.mark.parametrize("call", ["get_rank()", "get_world_size()", "get_backend()",
                                  "all_reduce(lib.ones(2))", "barrier()",
                                  "broadcast(lib.ones(2), src=0)"])
def test_before_init_errors_match_torch(call):
    errors = []
    for lib, d in ((dt, dist), (torch, tdist)):
        with pytest.raises(Exception) as info:
            eval(f"d.{call}", {"d": d, "lib": lib})
        errors.append((type(info.value).__name__, str(info.value)))
    assert errors[0] == errors[1]


SCRIPT = r'''
import json, sys, warnings
warnings.simplefilter("ignore")
import torch, torch.distributed as tdist
import dist_torch as dt, dist_torch.distributed as dist

tdist.init_process_group("gloo", init_method="file://" + sys.argv[1], rank=0, world_size=1)
dist.init_process_group("mpi")

CASES = {
    "gather list too long": lambda L, d: d.all_gather([L.ones(3)] * 2, L.ones(3)),
    "gather size": lambda L, d: d.all_gather([L.ones(3)], L.ones(2)),
    "gather dtype": lambda L, d: d.all_gather([L.ones(3, dtype=L.float64)], L.ones(3)),
    "broadcast root": lambda L, d: d.broadcast(L.ones(3), src=1),
    "reduce root": lambda L, d: d.reduce(L.ones(3), dst=3),
    "band float": lambda L, d: d.all_reduce(L.ones(3), op=d.ReduceOp.BAND),
    "avg int": lambda L, d: d.all_reduce(L.ones(3, dtype=L.int64), op=d.ReduceOp.AVG),
    "list arg": lambda L, d: d.all_reduce([L.ones(3)]),
    "gather no list": lambda L, d: d.gather(L.ones(3), None, dst=0),
    "scatter no list": lambda L, d: d.scatter(L.ones(3), None, src=0),
    "scatter list": lambda L, d: d.scatter(L.ones(3), [L.ones(3)] * 2, src=0),
    "scatter size": lambda L, d: d.scatter(L.ones(3), [L.ones(2)], src=0),
    "alltoall list": lambda L, d: d.all_to_all([L.ones(1)] * 2, [L.ones(1)]),
    "send self": lambda L, d: d.send(L.ones(1), 0),
    "init twice": lambda L, d: d.init_process_group("gloo" if L is torch else "mpi"),
    "group too big": lambda L, d: d.new_group([0, 1]),
    "group rank": lambda L, d: d.get_group_rank(d.group.WORLD, 3),
    "both src": lambda L, d: d.broadcast(L.ones(1), src=0, group_src=0),
}

def outcome(fn, L, d):
    try:
        value = fn(L, d)
    except Exception as err:
        return [type(err).__name__, str(err)]
    return ["ok", repr(value)]

results = {name: [outcome(fn, dt, dist), outcome(fn, torch, tdist)]
           for name, fn in CASES.items()}
t, u = dt.tensor([1.0, -2.0]), torch.tensor([1.0, -2.0])
dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
tdist.all_reduce(u, op=tdist.ReduceOp.PRODUCT)
results["values"] = [t.tolist(), u.tolist()]
print("JSON" + json.dumps(results))
'''


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist_oracle")
    job = jobs.run([jobs.script(tmp, "oracle.py", SCRIPT), str(tmp / "store")], None,
                   timeout=120)
    assert job.returncode == 0, job.output
    line = next(ln for ln in job.output.splitlines() if ln.startswith("JSON"))
    return json.loads(line[4:])


CASES = ["gather list too long", "gather size", "gather dtype", "broadcast root",
         "reduce root", "band float", "avg int", "list arg", "gather no list",
         "scatter no list", "scatter list", "scatter size", "alltoall list", "send self",
         "init twice", "group too big", "group rank", "both src"]
SAME_MESSAGE = {"gather no list", "scatter no list", "init twice", "group too big",
                "both src", "group rank"}


@pytest.mark.parametrize("case", CASES)
def test_errors_match_torch_in_a_world_of_one(outcomes, case):
    ours, theirs = outcomes[case]
    assert ours[0] == theirs[0], f"{case}: we raise {ours}, torch raises {theirs}"
    if case in SAME_MESSAGE:
        assert ours[1] == theirs[1]
    if case == "band float":
        assert ours[1].startswith(theirs[1])
    if case == "send self":
        assert ours[1].startswith(theirs[1].rstrip("."))


def test_values_match_torch_in_a_world_of_one(outcomes):
    ours, theirs = outcomes["values"]
    assert ours == theirs
