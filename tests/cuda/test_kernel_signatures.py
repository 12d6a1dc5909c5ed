"""Every CUDA kernel launch of ``backend/cuda_kernels.py`` matches the C signature of the entry
point it launches. Runs everywhere: no GPU, CUDA or nvcc is needed.

- The ``extern "C"`` entry points and their parameter lists are read from ``kernels/*.cu``,
  with the entry macros (``SOFTMAX_ENTRIES(f32, float)``, ...) expanded in Python.
- Every wrapper runs on a NumPy-backed stand-in for CuPy whose kernels record each launch
  ``(entry, grid, block, args)`` instead of running it.
- Each launch is checked as CuPy 14's ``RawKernel`` marshals it (``_pointer`` in
  ``cupy/cuda/function.pyx``): a CuPy array becomes its data pointer, None a null pointer, a
  NumPy scalar is copied by its own itemsize (np.int32: 4 bytes, np.int64 / np.uint64 /
  np.float64: 8), a Python int goes as int64 and a Python float as float64; a host NumPy
  array is refused. A count or width mismatch would read garbage silently on the GPU.
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict, namedtuple
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest

from dist_torch.backend import cuda as _cuda
from dist_torch.backend import cuda_kernels as K
from dist_torch.backend import kernel_twins as _tw

try:
    import ml_dtypes
    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # bfloat16 entries are then parsed but not run
    BF16 = None

DTYPES = ("float16", "bfloat16", "float32", "float64")
SUFFIX = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64"}

# C type (qualifiers and names removed) -> the NumPy dtype of an argument of that type
C_TYPES = {"float": np.dtype(np.float32), "double": np.dtype(np.float64),
           "__half": np.dtype(np.float16), "__nv_bfloat16": BF16,
           "unsigned char": np.dtype(np.uint8), "int": np.dtype(np.int32),
           "unsigned int": np.dtype(np.uint32), "long long": np.dtype(np.int64),
           "unsigned long long": np.dtype(np.uint64)}
MAX_GRID = (2**31 - 1, 65535, 65535)   # CUDA's grid limits (x, y, z)
MAX_BLOCK = (1024, 1024, 64)           # and block limits; at most 1024 threads in all


# --------------------------------------------------------------------------- the C side

class Param(NamedTuple):
    ctype: str          # the base type, e.g. "unsigned long long"
    pointer: bool
    name: str

    @property
    def dtype(self):
        return C_TYPES[self.ctype]

    def __str__(self):
        return f"{self.ctype}{'*' if self.pointer else ''} {self.name}"


_DEFINE = re.compile(r"^[ \t]*#define[ \t]+(\w+)\(([^)]*)\)(.*)$", re.M)
_ENTRY = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?'
                    r"(\w+)\s*\(([^)]*)\)")


def _acc_types(common: str) -> tuple[str, dict]:
    """The default and the specialised accumulation types of ``Acc<T>`` in common.cuh."""
    default = re.search(r"template\s*<\s*typename\s+\w+\s*>\s*struct\s+Acc\s*\{\s*typedef\s+"
                        r"(\w+)\s+type;", common).group(1)
    special = dict(re.findall(r"template\s*<\s*>\s*struct\s+Acc\s*<\s*(\w+)\s*>\s*\{\s*"
                              r"typedef\s+(\w+)\s+type;", common))
    return default, special


def expand_entries(source: str, common: str = "") -> str:
    """``source`` without comments, its function-like macros expanded (one level, as the
    entry macros are written), so that every entry point appears spelled out."""
    text = source.replace("\\\n", " ")  # line splicing comes before comments, as in C
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    macros = {}
    for name, params, body in _DEFINE.findall(text):
        if params.strip():
            macros[name] = ([p.strip() for p in params.split(",")], body)
    text = _DEFINE.sub("", text)

    def expand(m):
        names, body = macros[m.group(1)]
        args = [a.strip() for a in m.group(2).split(",")]
        assert len(args) == len(names), m.group(0)
        for n, a in zip(names, args):
            body = re.sub(rf"\b{n}\b", a, body)
        return re.sub(r"\s*##\s*", "", body)

    if macros:
        text = re.sub(rf"^[ \t]*({'|'.join(macros)})\(([^()]*)\)", expand, text, flags=re.M)
    if common:
        default, special = _acc_types(common)
        text = re.sub(r"(?:typename\s+)?Acc\s*<\s*(\w+)\s*>\s*::\s*type",
                      lambda m: special.get(m.group(1), default), text)
    return text


def parse_param(text: str) -> Param:
    words = re.sub(r"\b(const|volatile|__restrict__|__restrict)\b", " ", text)
    stars = words.count("*")
    words = words.replace("*", " ").split()
    assert stars <= 1 and len(words) >= 2, f"unsupported parameter {text!r}"
    return Param(" ".join(words[:-1]), stars == 1, words[-1])


def entry_signatures(source: str, common: str = "") -> dict[str, tuple[Param, ...]]:
    """``{entry name: parameters}`` of the ``extern "C"`` entry points of ``source``."""
    out = {}
    for name, params in _ENTRY.findall(expand_entries(source, common)):
        assert name not in out, f"entry {name} defined twice"
        out[name] = tuple(parse_param(p) for p in params.split(",") if p.strip())
    return out


COMMON = (K.KERNEL_DIR / "common.cuh").read_text()
SIGNATURES = {family: entry_signatures(K.kernel_source(family), COMMON)
              for family in K.FAMILY_DTYPES}


# --------------------------------------------------------------------------- a stand-in CuPy

class _Device(contextlib.nullcontext):  # used as ``with array.device:``
    id = 0


class DevArray(np.ndarray):
    """A NumPy array posing as a CuPy array on device 0."""

    @property
    def device(self):
        return _Device()

    @property
    def data(self):  # CuPy's MemoryPointer: the wrappers read only .ptr
        return SimpleNamespace(ptr=self.__array_interface__["data"][0])


def _dev(a):
    return np.asarray(a).view(DevArray)


class FakeCupy:
    """The part of the CuPy namespace the wrappers use, on NumPy."""
    ndarray = DevArray

    cuda = SimpleNamespace(runtime=SimpleNamespace(getDevice=lambda: 0))

    @staticmethod
    def asarray(a, dtype=None):
        return _dev(np.asarray(a, dtype=dtype))

    @staticmethod
    def ascontiguousarray(a, dtype=None):
        return _dev(np.ascontiguousarray(a, dtype=dtype))

    @staticmethod
    def empty(shape, dtype=np.float64):  # zeros: quiet arithmetic on outputs in the wrappers
        return _dev(np.zeros(shape, dtype=dtype))

    @staticmethod
    def empty_like(a, dtype=None):
        return _dev(np.zeros_like(a, dtype=dtype))

    @staticmethod
    def zeros(shape, dtype=np.float64):
        return _dev(np.zeros(shape, dtype=dtype))

    @staticmethod
    def power(a, b):
        return _dev(np.power(a, b))

    @staticmethod
    def sqrt(a):
        return _dev(np.sqrt(a))


Launch = namedtuple("Launch", "family name grid block args shared_mem")


class RecordingKernel:
    """Stands for ``RawModule.get_function(name)``; called as CuPy's RawKernel is."""

    def __init__(self, family, name, log):
        self.family, self.name, self.log = family, name, log

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None,
                 enable_cooperative_groups=False):
        self.log.append(Launch(self.family, self.name, grid, block, args, shared_mem))


def record_launches(monkeypatch) -> list:
    """Point the wrappers at the stand-in; returns the list their launches go to."""
    log: list = []
    fake = FakeCupy()
    monkeypatch.setattr(K, "_cupy", lambda: fake)
    monkeypatch.setattr(K, "get_kernel", lambda family, name: RecordingKernel(family, name, log))
    monkeypatch.setattr(K, "_tables", OrderedDict())
    monkeypatch.setattr(_cuda, "upload", lambda host: fake.asarray(np.array(host)))
    monkeypatch.setattr(_cuda, "capturing", lambda: False)
    monkeypatch.setattr(_cuda, "keep_alive", lambda obj: None)
    monkeypatch.setattr(_tw, "_xp", lambda a: fake if isinstance(a, DevArray) else np)
    return log


@pytest.fixture
def launches(monkeypatch):
    """The list every kernel launch of the wrappers is recorded in."""
    return record_launches(monkeypatch)


# --------------------------------------------------------------------------- the check

def _describe(arg) -> str:
    if isinstance(arg, np.ndarray):
        kind = "device" if isinstance(arg, DevArray) else "host NumPy"
        return f"{kind} array of {arg.dtype}"
    if isinstance(arg, np.generic):
        return f"np.{arg.dtype} ({arg.dtype.itemsize} bytes)"
    return f"Python {type(arg).__name__}"


def _arg_problem(arg, param: Param) -> str | None:
    if param.ctype not in C_TYPES:
        return f"unknown C type {param.ctype!r} (add it to C_TYPES)"
    want = param.dtype
    if param.pointer:
        if arg is None or type(arg) is np.uint64:  # null, or a raw device address
            return None
        if isinstance(arg, DevArray):
            if want is not None and arg.dtype != want:
                return f"{_describe(arg)} for {param} (wants {want})"
            if not arg.flags.c_contiguous:
                return f"non-contiguous array for {param}"
            return None
        return f"{_describe(arg)} for pointer {param}"
    if isinstance(arg, np.ndarray) or arg is None:
        return f"{_describe(arg)} for scalar {param}"
    if not isinstance(arg, np.generic):
        sent = {bool: "int64", int: "int64", float: "float64"}.get(type(arg), "nothing")
        return (f"{_describe(arg)} for {param}: CuPy sends it as {sent}; pass np.{want} "
                f"explicitly")
    if arg.dtype != want:
        return f"{_describe(arg)} for {param} (np.{want}, {want.itemsize} bytes)"
    return None


def _geometry_problems(grid, block) -> list[str]:
    out = []
    for what, dims, limits in (("grid", grid, MAX_GRID), ("block", block, MAX_BLOCK)):
        if not isinstance(dims, tuple) or not 1 <= len(dims) <= 3 or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
            out.append(f"{what} {dims!r} is not a tuple of 1 to 3 ints")
            continue
        for d, lim, axis in zip(dims, limits, "xyz"):
            if not 1 <= d <= lim:
                out.append(f"{what}.{axis} = {d} outside [1, {lim}]")
    if not out:
        threads = int(np.prod(block))
        if threads > 1024:
            out.append(f"block of {threads} threads (at most 1024)")
        if block[0] % 32:  # the block reductions shuffle over whole warps
            out.append(f"block.x = {block[0]} is not a whole number of warps")
    return out


def launch_problems(launch: Launch) -> list[str]:
    """What is wrong with one recorded launch (empty when nothing is)."""
    sig = SIGNATURES.get(launch.family, {}).get(launch.name)
    if sig is None:
        return [f"no extern \"C\" entry {launch.name} in {launch.family}.cu"]
    out = [f"{launch.name}: {p}" for p in _geometry_problems(launch.grid, launch.block)]
    if launch.shared_mem and "extern __shared__" not in K.kernel_source(launch.family):
        out.append(f"{launch.name}: {launch.shared_mem} bytes of dynamic shared memory for a "
                   f"kernel that declares none")
    if not isinstance(launch.args, tuple):
        return out + [f"{launch.name}: args must be a tuple, got {type(launch.args).__name__}"]
    if len(launch.args) != len(sig):
        out.append(f"{launch.name}: {len(launch.args)} arguments for {len(sig)} parameters "
                   f"({', '.join(map(str, sig))})")
    for i, (arg, param) in enumerate(zip(launch.args, sig)):
        problem = _arg_problem(arg, param)
        if problem:
            out.append(f"{launch.name}: argument {i}: {problem}")
    return out


def check(launches) -> None:
    assert launches, "no kernel was launched"
    problems = [p for launch in launches for p in launch_problems(launch)]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the wrapper runs

def _r(rng, shape, dtype, **kw):
    return _dev(rng.normal(size=shape, **kw).astype(dtype))


def case_softmax(rng, dt):
    for shape in ((4, 33), (3, 1), (2, 3000), (2, 3, 5), (0, 7), (5, 0)):
        x = _r(rng, shape, dt)
        for log in (False, True):
            y = K.softmax_forward(x, log=log)
            K.softmax_backward(_r(rng, shape, dt), y, log=log)


def case_cross_entropy(rng, dt):
    n, c = 6, 9
    x = _r(rng, (n, c), dt)
    target = _dev(np.array([0, 3, -100, 8, 1, 2], dtype=np.int32))  # cast to int64 inside
    for weight in (None, _dev(rng.uniform(0.5, 2, c).astype(dt))):
        for red in ("none", "mean", "sum"):
            for eps in (0.0, 0.1):
                loss, lse, rw = K.cross_entropy_forward(x, target, weight, -100, eps, red)
                grad = _dev(np.ones(loss.shape, dtype=dt))
                K.cross_entropy_backward(grad, x, target, lse, rw, weight, -100, eps, red)


def case_pooling(rng, dt):
    for shape, k, s, p, d, ceil in (((2, 3, 9, 8), 3, 2, 1, 1, False),
                                    ((3, 7, 7), (2, 3), (2, 1), (1, 0), (2, 1), True)):
        x = _r(rng, shape, dt)
        y, idx = K.max_pool2d_forward(x, k, s, p, d, ceil)
        K.max_pool2d_backward(_dev(np.ones_like(y)), idx, shape, k, s, p, d, ceil)
        for include, divisor in ((True, None), (False, None), (True, 5)):
            y = K.avg_pool2d_forward(x, k, s, p, ceil, include, divisor)
            K.avg_pool2d_backward(_dev(np.ones_like(y)), shape, k, s, p, ceil, include, divisor)


def case_im2col(rng, dt):
    shape = (2, 3, 8, 7)
    x = _r(rng, shape, dt)
    for layout in ("unfold", "gemm"):
        for k, s, p, d in ((3, 1, 1, 1), ((2, 3), (2, 1), (1, 1), (2, 1))):
            col = K.im2col(x, k, s, p, d, layout)
            K.col2im(col, shape, k, s, p, d, layout)


def case_layer_norm(rng, dt):
    for shape in ((4, 5, 6), (3, 700), (0, 4), (70, 3)):
        cols = shape[-1]
        x = _r(rng, shape, dt)
        for w, b in ((True, True), (True, False), (False, True), (False, False)):
            weight = _r(rng, (cols,), dt) if w else None
            bias = _r(rng, (cols,), dt) if b else None
            y, mean, rstd = K.layer_norm_forward(x, weight, bias, 1e-5)
            K.layer_norm_backward(_r(rng, shape, dt), x, mean, rstd, weight, bias)


def case_bias_act(rng, dt):
    x = _r(rng, (5, 7), dt)
    for act in _tw.ACTIVATIONS:
        for bias in (None, _r(rng, (7,), dt)):
            K.bias_act_forward(x, bias, act)
            K.bias_act_backward(_r(rng, (5, 7), dt), x, bias, act)


def case_dropout(rng, dt):
    x = _r(rng, (5, 11), dt)
    state = _dev(np.array([7, 1000], dtype=np.uint64))
    for p in (0.0, 0.3, 1.0):
        for st in (None, state):
            y, mask = K.dropout_forward(x, p, seed=2**64 - 1, offset=2**40, state=st)
            K.dropout_backward(_r(rng, (5, 11), dt), mask, p)
    K.philox_words(13, seed=2**63 + 5, offset=3)


def _params(rng, dt, sizes=((3, 4), (5,), (70000,))):
    return [_r(rng, s, dt) for s in sizes], [_r(rng, s, dt) for s in sizes]


def case_sgd(rng, dt):
    params, grads = _params(rng, dt)
    K.sgd_step(params, grads, [None] * 3, lr=0.1)  # no momentum: two lists
    buffers = K.sgd_step(params, grads, [None] * 3, lr=0.1, momentum=0.9, nesterov=True,
                         weight_decay=0.01)  # first step: flags uploaded
    K.sgd_step(params, grads, buffers, lr=0.1, momentum=0.9, dampening=0.1, maximize=True)


def case_adam(rng, dt):
    params, grads = _params(rng, dt)
    for amsgrad in (False, True):
        for device_steps in (False, True):
            state = [[_dev(np.zeros_like(p)) for p in params] for _ in range(3)]
            steps = [_dev(np.array(3.0)) for _ in params] if device_steps else [1, 2, 3]
            K.adam_step(params, grads, state[0], state[1], state[2], steps, lr=1e-3,
                        beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, amsgrad=amsgrad,
                        decoupled_weight_decay=device_steps, maximize=amsgrad)


CASES = {"softmax": (case_softmax, case_cross_entropy), "pooling": (case_pooling,),
         "im2col": (case_im2col,), "layernorm": (case_layer_norm,),
         "activation": (case_bias_act,), "dropout": (case_dropout,),
         "optim": (case_sgd, case_adam)}
RUNS = [pytest.param(family, case, dt, id=f"{case.__name__[5:]}-{SUFFIX[dt]}")
        for family, cases in CASES.items() for case in cases for dt in DTYPES]


def _run(case, dt):
    if dt == "bfloat16" and BF16 is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    case(np.random.default_rng(0), BF16 if dt == "bfloat16" else np.dtype(dt))


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("family, case, dt", RUNS)
def test_launches_match_the_c_signatures(launches, family, case, dt):
    if dt not in K.FAMILY_DTYPES[family]:
        with pytest.raises(TypeError, match=f"no CUDA kernel for dtype {dt}"):
            _run(case, dt)
        assert not launches
        return
    _run(case, dt)
    check(launches)
    philox = {"philox_words"}  # dtype-free
    assert {launch.name for launch in launches} - philox <= {
        name for name in SIGNATURES[family] if name.endswith("_" + SUFFIX[dt])}


def _every_launch(monkeypatch) -> list:
    """The launches of every case in every dtype its family supports."""
    out = []
    for family, case, dt in (r.values for r in RUNS):
        if dt not in K.FAMILY_DTYPES[family] or (dt == "bfloat16" and BF16 is None):
            continue
        with monkeypatch.context() as m:
            log = record_launches(m)
            _run(case, dt)
        out += log
    return out


def test_every_entry_point_is_launched(monkeypatch):
    seen = {(launch.family, launch.name) for launch in _every_launch(monkeypatch)}
    declared = {(family, name) for family, sigs in SIGNATURES.items() for name in sigs}
    if BF16 is None:
        declared = {e for e in declared if not e[1].endswith("_bf16")}
    assert declared - seen == set()


def _tests_for_null(source: str, name: str) -> bool:
    n = re.escape(name)
    return any(re.search(p, source) for p in (
        rf"\bif\s*\(\s*{n}\s*\)", rf"\b{n}\s*\?", rf"\b{n}\s*[!=]=\s*(nullptr|NULL|0)\b",
        rf"!\s*{n}\b", rf"\b{n}\s*&&"))


def test_null_pointers_go_only_where_the_kernel_tests_for_null(monkeypatch):
    nulls = set()
    for launch in _every_launch(monkeypatch):
        for arg, param in zip(launch.args, SIGNATURES[launch.family][launch.name]):
            if param.pointer and (arg is None or (type(arg) is np.uint64 and arg == 0)):
                nulls.add((launch.family, param.name))
    assert {name for _, name in nulls} >= {"weight", "bias", "b", "state", "first", "part_w"}
    unchecked = sorted(f"{family}.cu: {name}" for family, name in nulls
                       if not _tests_for_null(K.kernel_source(family), name))
    assert not unchecked, f"null passed for pointers never tested for null: {unchecked}"


def test_source_dtypes_agree_with_family_dtypes():
    for family, sigs in SIGNATURES.items():
        suffixes = {name.rsplit("_", 1)[1] for name in sigs if name != "philox_words"}
        assert suffixes == {SUFFIX[d] for d in K.FAMILY_DTYPES[family]}, family


def test_parser_reads_the_expanded_signatures():
    xent = SIGNATURES["softmax"]["cross_entropy_fwd_bf16"]
    assert [str(p) for p in xent] == [
        "__nv_bfloat16* x", "long long* target", "__nv_bfloat16* weight", "float* loss",
        "float* lse", "float* row_weight", "long long rows", "long long cols",
        "long long ignore_index", "double smoothing"]
    assert [str(p) for p in SIGNATURES["layernorm"]["layer_norm_bwd_dx_f64"]][3:5] == [
        "double* mean", "double* rstd"]
    assert [str(p) for p in SIGNATURES["dropout"]["philox_words"]] == [
        "unsigned int* out", "long long n", "unsigned long long seed",
        "unsigned long long offset"]
    assert len(SIGNATURES["optim"]["adam_mt_f32"]) == 17
    assert sum(map(len, SIGNATURES.values())) == 6 * 4 + 4 * 2 + 2 * 2 + 4 * 4 + 2 * 4 \
        + (2 * 4 + 1) + 2 * 2


def test_parser_expands_a_toy_macro():
    source = ('// extern "C" __global__ void commented(int n) {}\n'
              'extern "C" __global__ void plain(const int* __restrict__ a, int n) {}\n'
              "#define E(SUFFIX, T) \\\n"
              '  extern "C" __global__ void op_##SUFFIX(const T* x, Acc<T>::type* s, \\\n'
              "      long long n) { run<T>(x); }\n"
              "E(f16, __half)\nE(f64, double)\n")
    common = ("template <typename T> struct Acc { typedef float type; };\n"
              "template <> struct Acc<double> { typedef double type; };\n")
    sigs = {k: [str(p) for p in v] for k, v in entry_signatures(source, common).items()}
    assert sigs == {"plain": ["int* a", "int n"],
                    "op_f16": ["__half* x", "float* s", "long long n"],
                    "op_f64": ["double* x", "double* s", "long long n"]}


def _good_launch(launches):
    x = _dev(np.ones((2, 3), np.float32))
    K.bias_act_forward(x, None, "relu")
    (launch,) = launches
    assert launch_problems(launch) == []
    return launch


@pytest.mark.parametrize("mutate, expected", [
    (lambda a: a[:-1], "5 arguments for 6 parameters"),
    (lambda a: a + (np.int32(0),), "7 arguments for 6 parameters"),
    (lambda a: a[:5] + (np.int64(a[5]),), "np.int64 (8 bytes) for int act"),
    (lambda a: a[:3] + (np.int32(a[3]),) + a[4:], "np.int32 (4 bytes) for long long rows"),
    (lambda a: a[:3] + (int(a[3]),) + a[4:], "Python int for long long rows"),
    (lambda a: a[:5] + (int(a[5]),), "CuPy sends it as int64"),
    (lambda a: (a[0].astype(np.float64),) + a[1:], "array of float64 for float* x"),
    (lambda a: (np.asarray(a[0]),) + a[1:], "host NumPy array of float32 for pointer"),
    (lambda a: a[:1] + (np.int64(0),) + a[2:], "np.int64 (8 bytes) for pointer float* b"),
    (lambda a: a[:3] + (a[0],) + a[4:], "device array of float32 for scalar long long"),
    (lambda a: (a[0][:, ::2],) + a[1:], "non-contiguous array for float* x"),
    (lambda a: list(a), "args must be a tuple"),
])
def test_the_check_catches_broken_arguments(launches, mutate, expected):
    launch = _good_launch(launches)
    broken = launch._replace(args=mutate(launch.args))
    assert any(expected in p for p in launch_problems(broken)), launch_problems(broken)


@pytest.mark.parametrize("change, expected", [
    ({"grid": (0,)}, "grid.x = 0 outside"),
    ({"grid": (2**31,)}, "grid.x = 2147483648 outside"),
    ({"grid": (4, 65536)}, "grid.y = 65536 outside"),
    ({"grid": 4}, "not a tuple"),
    ({"block": (2048,)}, "block.x = 2048 outside"),
    ({"block": (512, 4)}, "block of 2048 threads"),
    ({"block": (48,)}, "not a whole number of warps"),
    ({"block": (256.0,)}, "not a tuple of 1 to 3 ints"),
    ({"shared_mem": 128}, "dynamic shared memory"),
    ({"name": "bias_act_fwd_f8"}, "no extern \"C\" entry bias_act_fwd_f8"),
])
def test_the_check_catches_broken_geometry(launches, change, expected):
    broken = _good_launch(launches)._replace(**change)
    assert any(expected in p for p in launch_problems(broken)), launch_problems(broken)


def _addr(a):
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_pointer_table_is_list_major(launches, amsgrad):
    rng = np.random.default_rng(1)
    params = [_r(rng, (70000,), np.float32), _r(rng, (3,), np.float64),
              _r(rng, (2, 2), np.float32)]
    grads, m, v, vmax = ([_dev(np.zeros_like(p)) for p in params] for _ in range(4))
    K.adam_step(params, grads, m, v, vmax, [1, 1, 1], lr=0.1, beta1=0.9, beta2=0.99,
                eps=1e-8, amsgrad=amsgrad)
    check(launches)
    lists = [params, grads, m, v] + ([vmax] if amsgrad else [])
    by_dtype = {launch.name: launch.args for launch in launches}
    assert sorted(by_dtype) == ["adam_mt_f32", "adam_mt_f64"]
    for name, idx in (("adam_mt_f32", [0, 2]), ("adam_mt_f64", [1])):
        ptrs, tensors, sizes, tensor, start, chunks, chunk = by_dtype[name][:7]
        assert tensors == len(idx)
        assert ptrs.tolist() == [_addr(lst[i]) for lst in lists for i in idx]
        assert sizes.tolist() == [params[i].size for i in idx]
        assert chunks == tensor.size == start.size
        assert set(tensor.tolist()) == set(range(len(idx)))
        assert all(s % int(chunk) == 0 for s in start.tolist())
        step_size, bc2 = by_dtype[name][7:9]
        assert step_size.size == bc2.size == len(idx)
        assert step_size.tolist() == pytest.approx([-0.1 / (1 - 0.9)] * len(idx))


def test_sgd_first_step_flags(launches):
    rng = np.random.default_rng(2)
    params, grads = _params(rng, np.float32, ((4,), (6,)))
    existing = _dev(np.zeros(6, np.float32))
    K.sgd_step(params, grads, [None, existing], lr=0.1, momentum=0.9)
    K.sgd_step(params, grads, [existing, existing], lr=0.1)
    check(launches)
    with_momentum, without = launches
    assert with_momentum.args[7].tolist() == [1, 0]        # first: per-tensor flags
    assert with_momentum.args[0].size == 3 * 2              # params, grads, buffers
    assert without.args[7] == K._NULL and without.args[0].size == 2 * 2


def test_optimizers_under_capture_keep_their_tables(launches, monkeypatch):
    kept = []
    monkeypatch.setattr(_cuda, "capturing", lambda: True)
    monkeypatch.setattr(_cuda, "keep_alive", kept.append)
    rng = np.random.default_rng(3)
    params, grads = _params(rng, np.float64, ((5,), (3, 3)))
    steps = [_dev(np.array(1.0)) for _ in params]
    state = [[_dev(np.zeros_like(p)) for p in params] for _ in range(3)]
    K.adam_step(params, grads, *state, steps, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8)
    check(launches)
    assert len(kept) == 1 and kept[0][0] is launches[0].args[0]
    assert not K._tables  # tables filled only at replay are not cached for eager launches


def test_grid_helpers_stay_in_cuda_limits():
    assert K._grid(10**15) == K._MAX_GRID <= MAX_GRID[0]
    assert K._grid(257) == 2 and K._grid(0) == 0  # 0: _launch skips (CuPy would launch 1)
    assert [K._row_block(c) for c in (0, 1, 32, 33, 700, 10**6)] == [32, 32, 32, 64, 512, 512]
