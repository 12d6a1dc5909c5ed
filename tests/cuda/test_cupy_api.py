"""Static audit: every array-module call in dist_torch exists in CuPy, with keywords CuPy
accepts, and ufunc methods CuPy implements. Runs without a GPU (CuPy imports; no device call
is made). Also checks backend.compat, the stand-ins for what CuPy lacks, against NumPy.
"""

from __future__ import annotations

import ast
import inspect
import pathlib

import numpy as np
import pytest

from dist_torch.backend import compat

ROOT = pathlib.Path(__file__).resolve().parents[2] / "dist_torch"
# Packages whose array code runs on CuPy arrays; np.<fn>(...) there must not touch data arrays.
DATA_PACKAGES = ("ops", "nn", "autograd", "amp", "optim")


def _module_chain(node):
    """``['linalg', 'norm']`` for ``xp.linalg.norm`` or ``array_module(x).linalg.norm``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "xp":
        return parts[::-1]
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
        if name == "array_module":
            return parts[::-1]
    return None


def _scan():
    """{dotted name: {(keyword or None, 'file:line')}} over all array-module uses."""
    uses = {}
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
        where = f"{path.relative_to(ROOT.parent)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and not isinstance(parents.get(node),
                                                                  ast.Attribute):
                chain = _module_chain(node)
                if chain:
                    entry = uses.setdefault(".".join(chain), set())
                    entry.add((None, f"{where}:{node.lineno}"))
                    call = parents.get(node)
                    if isinstance(call, ast.Call) and call.func is node:
                        for kw in call.keywords:
                            entry.add((kw.arg, f"{where}:{node.lineno}"))
    return uses


USES = _scan()


@pytest.fixture(scope="module")
def cupy():
    return pytest.importorskip("cupy")


def _resolve(cupy, dotted):
    obj = cupy
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_scan_finds_the_array_module_uses():
    # the scanner itself: names the code is known to use must be found
    for name in ("zeros", "where", "einsum", "lib.stride_tricks.as_strided", "linalg.norm"):
        assert name in USES, name
    assert len(USES) > 80


def test_every_name_exists_in_cupy(cupy):
    missing = []
    for name, sites in USES.items():
        try:
            _resolve(cupy, name)
        except AttributeError:
            missing.append(f"xp.{name} at {sorted(s for _, s in sites)[0]}")
    assert not missing, "not in CuPy: " + "; ".join(missing)


def _direct_cupy_uses():
    """{dotted name: first 'file:line'} for ``cupy.x.y`` / ``cp.x.y`` / ``_cupy().x.y`` in the
    modules that hold CuPy itself (the backend, the CUDA API, the NCCL backend)."""
    uses = {}
    for sub in ("backend", "cuda", "distributed"):
        for path in sorted((ROOT / sub).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Attribute) or isinstance(parents.get(node),
                                                                     ast.Attribute):
                    continue
                parts, base = [], node
                while isinstance(base, ast.Attribute):
                    parts.append(base.attr)
                    base = base.value
                is_cupy = (isinstance(base, ast.Name) and base.id in ("cupy", "cp")) or (
                    isinstance(base, ast.Call) and getattr(base.func, "id", None) == "_cupy")
                if is_cupy:
                    uses.setdefault(".".join(parts[::-1]),
                                    f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return uses


def test_direct_cupy_attributes_exist(cupy):
    """Streams, events, memory, runtime, NCCL, graphs: every ``cupy.`` attribute the backend
    names exists in the installed CuPy (submodules imported on the way, as CuPy does)."""
    import importlib
    uses = _direct_cupy_uses()
    assert {"cuda.Stream", "cuda.runtime.getDeviceCount", "RawModule"} <= set(uses)
    missing = []
    for name, site in sorted(uses.items()):
        obj = cupy
        try:
            for part in name.split("."):
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    obj = importlib.import_module(f"{obj.__name__}.{part}")
        except (AttributeError, ImportError) as err:
            if "nccl" in name and "nccl" in str(err).lower():
                continue  # cupy.cuda.nccl needs libnccl, absent on machines without a GPU
            missing.append(f"cupy.{name} at {site}")
    assert not missing, "not in CuPy: " + "; ".join(missing)


def _ufunc_rejects(cupy, ufunc, keyword):
    """True when CuPy's ufunc refuses ``keyword`` (it checks keywords before any device
    work: 'Wrong arguments'); any other failure means the keyword got through."""
    try:
        ufunc(*[1] * ufunc.nin, **{keyword: "unsafe" if keyword == "casting" else None})
    except TypeError as err:
        return "Wrong arguments" in str(err)
    except Exception:
        return False
    return False


def test_ufunc_probe_tells_bad_keywords(cupy):
    assert _ufunc_rejects(cupy, cupy.add, "where")
    assert _ufunc_rejects(cupy, cupy.add, "initial")
    assert not _ufunc_rejects(cupy, cupy.add, "dtype")


def test_keywords_are_accepted_by_cupy(cupy):
    bad = []
    for name, sites in USES.items():
        fn = _resolve(cupy, name)
        keywords = {(k, s) for k, s in sites if k is not None}
        if not keywords:
            continue
        if isinstance(fn, cupy.ufunc):
            bad += [f"xp.{name}({k}=) at {s}" for k, s in keywords
                    if _ufunc_rejects(cupy, fn, k)]
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue  # a builtin without a signature (ufunc methods: checked below)
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue
        bad += [f"xp.{name}({k}=) at {s}" for k, s in keywords if k not in params]
    assert not bad, "; ".join(sorted(bad))


UFUNC_METHODS = ("at", "reduceat", "reduce", "accumulate", "outer")


def test_no_ufunc_method_that_cupy_lacks(cupy):
    """``xp.multiply.at`` and ``xp.maximum.reduceat`` raise NotImplementedError on CuPy; they
    must go through backend.compat. CuPy decides before touching the array, so a NumPy
    stand-in shows it: any other error means the method exists."""
    sample = {"at": (np.zeros(3), [0], 1.0), "reduceat": (np.zeros(3), [0]),
              "reduce": (np.zeros(3),), "accumulate": (np.zeros(3),),
              "outer": (np.zeros(2), np.zeros(2))}
    bad = []
    for name, sites in USES.items():
        head, _, method = name.rpartition(".")
        if method not in UFUNC_METHODS or not head:
            continue
        try:
            getattr(_resolve(cupy, head), method)(*sample[method])
        except NotImplementedError:
            bad.append(f"xp.{name} at {sorted(s for _, s in sites)[0]}")
        except Exception:
            pass
    assert not bad, "CuPy lacks: " + "; ".join(bad)


# ------------------------------------------------------------------ np.<fn>(data) in array code

def _data_expr(node):
    """True for expressions that are (or index) a tensor's array: ``t._data``, ``t.data``,
    ``x._data[...]``."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr in ("_data", "data")


ALLOWED_NP = {"dtype", "iinfo", "finfo", "errstate", "promote_types", "result_type",
              "can_cast", "issubdtype", "shape", "ndim", "isscalar"}


def test_no_numpy_function_applied_to_tensor_data():
    """``np.asarray(t._data)``, ``np.where(x.data ...)`` and kin break on CUDA tensors:
    such calls must use the array module. Host-only helpers (printing, serialization,
    vision's CPU transforms) are outside the scanned packages."""
    bad = []
    for pkg in DATA_PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                f = node.func
                base = f.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if not (isinstance(base, ast.Name) and base.id == "np"):
                    continue
                if f.attr in ALLOWED_NP:
                    continue
                args = list(node.args) + [k.value for k in node.keywords]
                if any(_data_expr(a) for a in args):
                    bad.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} np.{f.attr}")
    assert not bad, "; ".join(bad)


# ------------------------------------------------------------------ backend.compat on NumPy

@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "minimum"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.float16])
def test_segmented_at_matches_numpy_ufunc_at(name, dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(-3, 4, (5, 4)).astype(dtype)
    idx = (rng.integers(0, 5, 30), rng.integers(0, 4, 30))   # many duplicates
    vals = rng.integers(-3, 4, 30).astype(dtype)
    if name == "multiply":
        vals[vals == 0] = 1
    want = a.copy()
    getattr(np, name).at(want, idx, vals)
    got = a.copy()
    compat.segmented_at(np, name, got, idx, vals)
    np.testing.assert_array_equal(got, want)


def test_segmented_at_slices_broadcast_and_views():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((6, 5))
    view = base[::2, 1:]          # not contiguous
    idx = np.array([0, 2, 2, 1, 0])
    vals = rng.standard_normal((5, 4))
    want = base.copy()
    np.maximum.at(want[::2, 1:], idx, vals)
    compat.segmented_at(np, "maximum", view, idx, vals)
    np.testing.assert_array_equal(base, want)
    scalar_target = np.array(2.0)
    compat.segmented_at(np, "multiply", scalar_target, (), 3.0)
    assert scalar_target == 6.0
    a = np.ones(4)
    compat.segmented_at(np, "add", a, (np.array([1, 1, 3]),), 2.0)  # scalar broadcast
    np.testing.assert_array_equal(a, [1, 5, 1, 3])


def test_segmented_at_nan_propagates_like_numpy():
    a = np.zeros(3)
    vals = np.array([1.0, np.nan, 2.0, 5.0])
    idx = np.array([0, 0, 0, 2])
    want = a.copy()
    with np.errstate(invalid="ignore"):
        np.maximum.at(want, idx, vals)
        compat.segmented_at(np, "maximum", a, idx, vals)
    assert np.isnan(want[0])
    np.testing.assert_array_equal(a, want)


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "minimum"])
@pytest.mark.parametrize("starts", [[0, 2, 3, 7], [1, 4], [0], [2, 2, 5, 1, 6], [0, 1, 2, 3, 4,
                                                                             5, 6, 7]])
def test_reduceat_by_scatter_matches_numpy(name, starts):
    rng = np.random.default_rng(2)
    a = rng.integers(-4, 5, (8, 3)).astype(np.float64)
    for axis in (0, 1):
        arr = a if axis == 0 else a.T.copy()
        want = getattr(np, name).reduceat(arr, starts, axis=axis)
        got = compat.reduceat_by_scatter(np, name, arr, starts, axis=axis)
        np.testing.assert_array_equal(got, want)


def test_numpy_arrays_go_to_numpy():
    a = np.zeros(3, dtype=np.int64)
    compat.ufunc_at("add", a, [0, 0, 2], 1)
    np.testing.assert_array_equal(a, [2, 0, 1])
    out = compat.reduceat("maximum", np.array([1, 5, 2, 7]), [0, 2])
    np.testing.assert_array_equal(out, [5, 7])
    with pytest.raises(ValueError):
        compat.ufunc_at("subtract", a, [0], 1)


def test_int64_add_through_uint64_wraps_like_int64():
    # the CuPy path adds int64 as uint64 (CuPy has no int64 atomics): same bits both ways
    a = np.array([5, -7, 2 ** 62], dtype=np.int64)
    v = np.array([-9, 3, 2 ** 62, -1], dtype=np.int64)
    idx = np.array([0, 1, 2, 0])
    want = a.copy()
    np.add.at(want, idx, v)
    got = a.copy()
    np.add.at(got.view(np.uint64), idx, v.view(np.uint64))
    np.testing.assert_array_equal(got, want)


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "minimum"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.int32,
                                   np.uint8, np.bool_])
def test_compat_on_gpu(cp, name, dtype):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, (6, 3)).astype(dtype)
    idx = rng.integers(0, 6, 40)
    vals = rng.integers(1, 3, (40, 3)).astype(dtype)
    want = a.copy()
    getattr(np, name).at(want, idx, vals)
    got = cp.asarray(a)
    compat.ufunc_at(name, got, cp.asarray(idx), cp.asarray(vals))
    np.testing.assert_array_equal(cp.asnumpy(got), want)
    starts = np.array([0, 1, 4, 5])
    rows = rng.integers(0, 9, (7, 3)).astype(dtype)
    np.testing.assert_array_equal(
        cp.asnumpy(compat.reduceat(name, cp.asarray(rows), cp.asarray(starts))),
        getattr(np, name).reduceat(rows, starts, axis=0))
