"""GPU benchmarks, dist_torch against PyTorch on the same device in one process (issue 5).

The same model code runs in both frameworks, from the same initial weights and batches:

* SimpleNet and ConvNet training steps (forward, cross-entropy, backward, Adam) at batch 64
  and 1024, eager; batch 64 also with the whole step in a CUDA graph (torch's recipe);
* a GPT-style LM (token + learned position embeddings, pre-LN blocks with causal
  ``scaled_dot_product_attention`` and a 4x GELU MLP, LM head, AdamW), float32 and under bf16
  autocast, in tokens/s;
* a 4096x4096 matmul in float32 with TF32 off and on, float16 and bfloat16, in TFLOP/s.

Each training case first compares the two frameworks' losses of two steps and step 1's
gradient norm (graph cases: the losses of three replays); a mismatch is printed loudly and
makes the exit status 2, but every case still runs. Times are medians over ``--repeats``
blocks of steps, each block between two device synchronisations, the frameworks' blocks
alternating. Peak memory is each framework's ``cuda.max_memory_allocated()`` after
``reset_peak_memory_stats()`` (reset after the warm-up). ratio = dist_torch throughput /
torch throughput (above 1: dist_torch is faster).

    PYTHONPATH=. python benchmarks/bench_cuda.py [--json PATH] [--cases gpt,matmul]
    PYTHONPATH=. python benchmarks/bench_cuda.py --device cpu --quick     # smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import sys
import time

import numpy as np
from bench_training import _copy_weights, conv_net, simple_net

import dist_torch

try:
    import torch
except ImportError:  # the comparison needs PyTorch: pip install -e ".[oracle]"
    torch = None

FULL = {"small": 64, "large": 1024, "vocab": 8192, "width": 384, "layers": 6, "heads": 6,
        "context": 256, "gpt_batch": 32, "matmul": 4096}
QUICK = {"small": 8, "large": 32, "vocab": 64, "width": 32, "layers": 2, "heads": 2,
         "context": 16, "gpt_batch": 4, "matmul": 64}
LOSS_RTOL = {"float32": 1e-3, "bfloat16": 2e-2}
MATMUL_RTOL = {"float32": 1e-4, "tf32": 2e-2, "float16": 2e-2, "bfloat16": 2e-2}
N_BATCHES = 4  # distinct batches, used in turn
SLOW_CASE_S = 15.0  # timed seconds after which a framework's case stops at 3 blocks
SIDES = ("torch", "dist_torch")


class Side:
    """One framework on one device: its module and the device-side helpers the timing needs."""

    def __init__(self, name: str, lib, device: str):
        self.name, self.lib, self.device = name, lib, device
        self.cuda = device.startswith("cuda")

    def tensor(self, array):
        return self.lib.tensor(array, device=self.device)

    def sync(self):
        if self.cuda:
            self.lib.cuda.synchronize()

    def reset_peak(self):
        if self.cuda:
            self.lib.cuda.reset_peak_memory_stats()

    def peak_mib(self):
        return self.lib.cuda.max_memory_allocated() / 2**20 if self.cuda else None

    def release(self):
        gc.collect()
        if self.cuda:
            self.lib.cuda.synchronize()
            self.lib.cuda.empty_cache()


def _err(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def _close(a, b, rtol) -> bool:
    return a is not None and b is not None and math.isfinite(a) and math.isfinite(b) \
        and abs(a - b) <= rtol * abs(b)


# ----------------------------------------------------------------------------- models

def gpt_lm(tt, vocab, width, layers, heads, context):
    """A GPT-style LM in framework ``tt``: embeddings, pre-LN causal blocks, LM head."""
    nn, fn = tt.nn, tt.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2)
                       for z in self.qkv(self.ln1(x)).split(c, dim=2))
            y = fn.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.out(fn.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(context, width)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab, bias=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(tt.arange(idx.shape[1], device=idx.device))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPT()


def _pair(make, sides):
    """The model built by ``make(lib)`` in both frameworks, with torch's initial weights."""
    theirs, ours = make(torch), make(dist_torch)
    _copy_weights(ours, theirs)
    return {"torch": theirs.to(sides["torch"].device),
            "dist_torch": ours.to(sides["dist_torch"].device)}


def _lm_loss(lib):
    def loss(logits, targets):
        return lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               targets.reshape(-1))
    return loss


def _image_batches(batch, seed):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),
             rng.integers(0, 10, batch)) for _ in range(N_BATCHES)]


def _token_batches(batch, context, vocab, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(N_BATCHES):
        seq = rng.integers(0, vocab, (batch, context + 1))
        out.append((seq[:, :-1].copy(), seq[:, 1:].copy()))
    return out


# ----------------------------------------------------------------------------- timing

def _measure(steps, sides, warmup, repeats, target_s, results):
    """Time ``steps[name](i)`` for each framework still without an error in ``results``.

    Fills each framework's ``step_ms`` and ``peak_mib``; an exception marks that framework's
    ``error`` and drops it from the rest of the run.
    """
    live, inner = [], {}
    for name, step in steps.items():
        side = sides[name]
        try:
            for i in range(warmup):
                step(i)
            side.sync()
            start = time.perf_counter()
            step(warmup)
            side.sync()
            once = time.perf_counter() - start
            inner[name] = max(1, min(200, math.ceil(target_s / max(once, 1e-6))))
            side.reset_peak()
            live.append(name)
        except Exception as exc:  # noqa: BLE001 - reported in the table, the run goes on
            results[name]["error"] = _err(exc)
    times = {name: [] for name in live}
    timing = list(live)
    for _ in range(repeats):
        for name in list(timing):
            side, step = sides[name], steps[name]
            try:
                side.sync()
                start = time.perf_counter()
                for i in range(inner[name]):
                    step(i)
                side.sync()
                times[name].append((time.perf_counter() - start) / inner[name])
            except Exception as exc:  # noqa: BLE001
                results[name]["error"] = _err(exc)
                live.remove(name)
                timing.remove(name)
                continue
            # a very slow framework stops after 3 blocks, to keep the whole run bounded
            if len(times[name]) >= 3 and sum(times[name]) * inner[name] > SLOW_CASE_S:
                timing.remove(name)
    for name in live:
        results[name]["step_ms"] = float(np.median(times[name])) * 1e3
        results[name]["peak_mib"] = sides[name].peak_mib()
        results[name]["steps_per_block"] = inner[name]
        results[name]["blocks"] = len(times[name])


def _fill_throughput(case, per_step, unit_scale=1.0):
    """Throughput (``per_step`` items per step, times ``unit_scale``) and the ratio."""
    for name in SIDES:
        r = case[name]
        if r.get("step_ms") and not r.get("error"):
            r["throughput"] = per_step / (r["step_ms"] / 1e3) * unit_scale
    t, d = case["torch"].get("throughput"), case["dist_torch"].get("throughput")
    case["ratio"] = d / t if t and d else None


# ----------------------------------------------------------------------------- training cases

def _train_step(lib, model, optimizer, loss_fn, autocast):
    def step(x, y, zero=True):
        if zero:
            optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _autocast(side, dtype):
    if dtype == "float32":
        return contextlib.nullcontext
    device_type = "cuda" if side.cuda else "cpu"
    return lambda: side.lib.autocast(device_type, dtype=getattr(side.lib, dtype))


def _setup(spec, sides, capturable=False):
    """Models, optimizers, device batches and step functions for both frameworks."""
    models = _pair(spec["make"], sides)
    out = {}
    for name, side in sides.items():
        lib, model = side.lib, models[name]
        opt_cls = getattr(lib.optim, spec["optimizer"])
        kwargs = {"capturable": True} if capturable else {}
        optimizer = opt_cls(model.parameters(), lr=1e-3, **kwargs)
        batches = [(side.tensor(x), side.tensor(y)) for x, y in spec["batches"]]
        step = _train_step(lib, model, optimizer, spec["loss"](lib),
                           _autocast(side, spec["dtype"]))
        out[name] = {"model": model, "optimizer": optimizer, "batches": batches, "step": step}
    return out


@contextlib.contextmanager
def _no_tf32(sides):
    """Full float32 in both frameworks (torch's cuDNN convolutions use TF32 by default), so
    the checked steps compare like with like; the timed steps keep each default."""
    flags = [f for side in sides.values() for f in (side.lib.backends.cudnn,
                                                     side.lib.backends.cuda.matmul)]
    saved = [f.allow_tf32 for f in flags]
    for f in flags:
        f.allow_tf32 = False
    try:
        yield
    finally:
        for f, value in zip(flags, saved):
            f.allow_tf32 = value


def _grad_norm(model) -> float:
    return math.sqrt(sum(float((p.grad.float() ** 2).sum().item())
                         for p in model.parameters() if p.grad is not None))


def _first_steps(part, result, grad_norm=True):
    """Two checked steps on the first two batches (they double as warm-up)."""
    b, step = part["batches"], part["step"]
    result["losses"] = [float(step(*b[0]).item())]
    if grad_norm:  # step 1's gradients, before step 2 clears them
        result["grad_norm"] = _grad_norm(part["model"])
    result["losses"].append(float(step(*b[1]).item()))


def _check_losses(case, rtol):
    """Compare the frameworks' step losses (and step 1's gradient norm where recorded)."""
    t, d = case["torch"], case["dist_torch"]
    if not t.get("losses") or not d.get("losses"):
        case["check"] = {"ok": None, "detail": "not compared (a framework failed)"}
        return
    pairs = [(f"step {i + 1} loss", a, b) for i, (a, b) in
             enumerate(zip(d["losses"], t["losses"]))]
    if "grad_norm" in t and "grad_norm" in d:
        pairs.append(("step 1 grad norm", d["grad_norm"], t["grad_norm"]))
    ok = len(d["losses"]) == len(t["losses"]) and all(_close(a, b, rtol) for _, a, b in pairs)
    detail = "; ".join(f"{what}: torch {b:.6g} dist_torch {a:.6g}" for what, a, b in pairs)
    case["check"] = {"ok": ok, "rtol": rtol, "detail": detail}


def run_eager(spec, sides, opts):
    case = {name: {} for name in SIDES}
    parts = _setup(spec, sides)
    with _no_tf32(sides):
        for name, part in parts.items():
            try:
                _first_steps(part, case[name])
            except Exception as exc:  # noqa: BLE001
                case[name]["error"] = _err(exc)
    _check_losses(case, LOSS_RTOL[spec["dtype"]])

    def stepper(part):
        b, step = part["batches"], part["step"]
        return lambda i: step(*b[i % N_BATCHES])
    steps = {n: stepper(p) for n, p in parts.items() if not case[n].get("error")}
    _measure(steps, sides, opts.warmup, opts.repeats, opts.target_ms / 1e3, case)
    _fill_throughput(case, spec["items"])
    del parts, steps
    for side in sides.values():
        side.release()
    return case


def _capture(side, part, phase):
    """The torch.cuda.graph recipe for a whole training step; returns ``replay(i)``, which
    copies batch ``i`` into the static inputs, replays and returns the static loss."""
    lib, step, batches = side.lib, part["step"], part["batches"]
    static_x, static_y = batches[0][0].clone(), batches[0][1].clone()
    phase[0] = "graph warm-up failed"
    s = lib.cuda.Stream()
    s.wait_stream(lib.cuda.current_stream())
    with lib.cuda.stream(s):
        for _ in range(3):
            step(static_x, static_y)
    lib.cuda.current_stream().wait_stream(s)
    phase[0] = "capture failed"
    graph = lib.cuda.CUDAGraph()
    part["optimizer"].zero_grad(set_to_none=True)
    with lib.cuda.graph(graph):
        static_loss = step(static_x, static_y, zero=False)
    phase[0] = "replay failed"

    def replay(i):
        x, y = batches[i % N_BATCHES]
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()
        return static_loss
    part["graph"] = graph  # keep the graph (and its pool) alive as long as the case
    return replay


def run_graph(spec, sides, opts):
    case = {name: {} for name in SIDES}
    if not all(side.cuda for side in sides.values()):
        for name in SIDES:
            case[name]["error"] = "skipped: CUDA graphs need --device cuda"
        case["check"] = {"ok": None, "detail": "not compared (no GPU)"}
        _fill_throughput(case, spec["items"])
        return case
    parts = _setup(spec, sides, capturable=True)
    steps = {}
    for name, part in parts.items():
        phase = ["setup failed"]
        try:
            replay = _capture(sides[name], part, phase)
            # After the same three warm-up steps both frameworks hold the same weights, so the
            # replays' losses must agree; the third also depends on the second replay's Adam
            # step count (a count frozen at capture would show there).
            case[name]["losses"] = [float(replay(i).item()) for i in range(3)]
            steps[name] = replay
        except Exception as exc:  # noqa: BLE001
            case[name]["error"] = f"{phase[0]}: {_err(exc)}"
            with contextlib.suppress(Exception):
                sides[name].sync()
    _check_losses(case, LOSS_RTOL[spec["dtype"]])
    _measure(steps, sides, opts.warmup, opts.repeats, opts.target_ms / 1e3, case)
    _fill_throughput(case, spec["items"])
    del parts, steps
    for side in sides.values():
        side.release()
    return case


# ----------------------------------------------------------------------------- matmul

def run_matmul(spec, sides, opts):
    case = {name: {} for name in SIDES}
    n, dtype, tf32 = spec["n"], spec["dtype"], spec["tf32"]
    rng = np.random.default_rng(1)
    a_np = rng.standard_normal((n, n)).astype(np.float32)
    b_np = rng.standard_normal((n, n)).astype(np.float32)
    products, steps, saved = {}, {}, {}
    for name, side in sides.items():
        lib = side.lib
        flags = lib.backends.cuda.matmul
        saved[name] = flags.allow_tf32
        flags.allow_tf32 = tf32
        try:
            a = side.tensor(a_np).to(getattr(lib, dtype))
            b = side.tensor(b_np).to(getattr(lib, dtype))
            with lib.no_grad():
                products[name] = (a @ b).float().cpu().numpy().astype(np.float64)
            steps[name] = lambda i, a=a, b=b, mm=lib.matmul: mm(a, b)
        except Exception as exc:  # noqa: BLE001
            case[name]["error"] = _err(exc)
    if len(products) == 2:
        ref = products["torch"]
        rel = float(np.linalg.norm(products["dist_torch"] - ref) / np.linalg.norm(ref))
        rtol = MATMUL_RTOL["tf32" if tf32 else dtype]
        case["check"] = {"ok": bool(rel <= rtol), "rtol": rtol,
                         "detail": f"relative difference of the products {rel:.2e}"}
    else:
        case["check"] = {"ok": None, "detail": "not compared (a framework failed)"}
    del products
    with contextlib.ExitStack() as stack:
        for side in sides.values():
            stack.enter_context(side.lib.no_grad())
        _measure(steps, sides, opts.warmup, opts.repeats, opts.target_ms / 1e3, case)
    for name, side in sides.items():
        side.lib.backends.cuda.matmul.allow_tf32 = saved[name]
    _fill_throughput(case, 2.0 * n ** 3, unit_scale=1e-12)
    del steps
    for side in sides.values():
        side.release()
    return case


# ----------------------------------------------------------------------------- the run

def _specs(size):
    def image(model, make, key, batch):
        return {"key": key, "model": model, "make": make, "batch": batch, "dtype": "float32",
                "optimizer": "Adam", "items": batch,
                "loss": lambda lib: lib.nn.functional.cross_entropy,
                "unit": "samples/s", "batches": _image_batches(batch, seed=batch)}
    gpt_shape = (size["vocab"], size["width"], size["layers"], size["heads"], size["context"])
    tokens = size["gpt_batch"] * size["context"]

    def gpt(dtype):
        return {"key": f"gpt_{dtype}", "model": "GPT LM", "dtype": dtype, "optimizer": "AdamW",
                "make": lambda lib: gpt_lm(lib, *gpt_shape), "loss": _lm_loss,
                "batch": size["gpt_batch"], "items": tokens, "unit": "tokens/s",
                "batches": _token_batches(size["gpt_batch"], size["context"], size["vocab"],
                                          seed=7)}

    def matmul(key, dtype, tf32):
        return {"key": key, "model": f"matmul {size['matmul']}", "dtype": dtype, "tf32": tf32,
                "n": size["matmul"], "batch": None, "unit": "TFLOP/s"}

    specs = []
    for model, make in (("SimpleNet", simple_net), ("ConvNet", conv_net)):
        low = model.lower()
        specs.append(("eager", image(model, make, f"{low}_small_eager", size["small"])))
        specs.append(("eager", image(model, make, f"{low}_large_eager", size["large"])))
        specs.append(("graph", image(model, make, f"{low}_small_graph", size["small"])))
    specs += [("eager", gpt("float32")), ("eager", gpt("bfloat16")),
              ("matmul", matmul("matmul_fp32", "float32", False)),
              ("matmul", matmul("matmul_tf32", "float32", True)),
              ("matmul", matmul("matmul_fp16", "float16", False)),
              ("matmul", matmul("matmul_bf16", "bfloat16", False))]
    return specs


RUNNERS = {"eager": run_eager, "graph": run_graph, "matmul": run_matmul}


def _label(mode, spec):
    if mode == "matmul":
        return f"{spec['model']} {spec['dtype']}" + (" (TF32 on)" if spec["tf32"] else "")
    extra = "" if spec["dtype"] == "float32" else f" {spec['dtype']} autocast"
    return f"{spec['model']} b{spec['batch']} {mode}{extra}"


def _cell(value, fmt=None):
    if value is None:
        return "-"
    if fmt is None:  # throughputs: whole numbers when large, 3 significant digits when small
        fmt = ".0f" if abs(value) >= 1000 else ".3g"
    return format(value, fmt)


def _table(cases):
    lines = ["| case | unit | dist_torch | torch | ratio | vs torch eager | dist_torch peak MiB"
             " | torch peak MiB | check |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    notes = []
    for c in cases:
        d, t = c["dist_torch"], c["torch"]
        vs_eager = c.get("ratio_vs_torch_eager")
        check = c["check"]
        mark = {True: "ok", False: "MISMATCH", None: "-"}[check["ok"]]
        lines.append(f"| {c['label']} | {c['unit']} | {_cell(d.get('throughput'))} | "
                     f"{_cell(t.get('throughput'))} | {_cell(c['ratio'], '.2f')} | "
                     f"{_cell(vs_eager, '.2f')} | {_cell(d.get('peak_mib'), '.1f')} | "
                     f"{_cell(t.get('peak_mib'), '.1f')} | {mark} |")
        errors = {name: c[name]["error"] for name in SIDES if c[name].get("error")}
        if len(errors) == 2 and len(set(errors.values())) == 1:
            errors = {"both": errors["torch"]}
        notes += [f"{c['label']}: {name}: {error}" for name, error in errors.items()]
        if check["ok"] is False:
            notes.append(f"{c['label']}: CHECK FAILED: {check['detail']}")
    return lines, notes


def _meta(args, size, device):
    meta = {"device": device, "quick": args.quick, "sizes": size, "repeats": args.repeats,
            "warmup": args.warmup, "target_ms": args.target_ms,
            "torch": torch.__version__, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    if device.startswith("cuda"):
        meta["gpu"] = torch.cuda.get_device_name()
        meta["torch_cudnn_allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
        meta["torch_matmul_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
    return meta


def _skipped(mode, spec, why, seconds=0.0):
    case = {name: {"error": why} for name in SIDES}
    case.update(ratio=None, check={"ok": None, "detail": "not compared"}, key=spec["key"],
                mode=mode, label=_label(mode, spec), unit=spec["unit"], batch=spec["batch"],
                dtype=spec["dtype"], seconds=round(seconds, 2))
    return case


def _run_case(mode, spec, sides, args):
    label = _label(mode, spec)
    print(f"running {label} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        case = RUNNERS[mode](spec, sides, args)
        case.update(key=spec["key"], mode=mode, label=label, unit=spec["unit"],
                    batch=spec["batch"], dtype=spec["dtype"],
                    seconds=round(time.perf_counter() - start, 2))
    except Exception as exc:  # noqa: BLE001 - e.g. a model that cannot be built: next case
        case = _skipped(mode, spec, _err(exc), time.perf_counter() - start)
    print(f"    {case['seconds']} s; ratio {_cell(case['ratio'], '.2f')}; "
          f"check {case['check']['ok']}", file=sys.stderr, flush=True)
    if case["check"]["ok"] is False:
        print(f"!!! {label}: CHECK FAILED: {case['check']['detail']}", file=sys.stderr,
              flush=True)
    return case


def _graph_vs_eager(cases):
    """dist_torch's graphed throughput over torch's eager one (issue 5's small-batch goal)."""
    by_key = {c["key"]: c for c in cases}
    for c in cases:
        if c["mode"] == "graph":
            eager = by_key.get(c["key"].replace("_graph", "_eager"), {})
            d = c["dist_torch"].get("throughput")
            t = eager.get("torch", {}).get("throughput")
            c["ratio_vs_torch_eager"] = d / t if d and t else None


def _write_json(path, meta, cases, complete):
    with open(path, "w") as f:
        json.dump({"meta": dict(meta, complete=complete), "cases": cases}, f, indent=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the results as JSON (rewritten after every case)")
    parser.add_argument("--cases", default="",
                        help="comma-separated substrings of case keys to run (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed blocks (default 7)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default 3)")
    parser.add_argument("--target-ms", type=float, default=None,
                        help="aim for blocks of about this long (default 100)")
    parser.add_argument("--budget-s", type=float, default=360.0,
                        help="start no case after this many seconds (default 360)")
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("PyTorch is needed for the side-by-side run: pip install -e '.[oracle]'")
    quick = args.quick
    args.repeats = args.repeats or (2 if quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.target_ms = args.target_ms or (2.0 if quick else 100.0)
    device = args.device
    if device.startswith("cuda"):
        if not torch.cuda.is_available() or not dist_torch.cuda.is_available():
            raise SystemExit(f"--device {device}: a GPU must be visible to torch "
                             f"({torch.cuda.is_available()}) and to dist_torch "
                             f"({dist_torch.cuda.is_available()}); use --device cpu --quick")
    if not device.startswith("cuda"):  # as bench_training: one thread unless told otherwise
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    sides = {"torch": Side("torch", torch, device),
             "dist_torch": Side("dist_torch", dist_torch, device)}
    size = QUICK if quick else FULL
    meta = _meta(args, size, device)
    wanted = [w for w in args.cases.split(",") if w]
    specs = [(m, s) for m, s in _specs(size) if not wanted or any(w in s["key"] for w in wanted)]
    # graph captures run last, so that a failed capture cannot disturb the other cases
    order = sorted(range(len(specs)), key=lambda i: specs[i][0] == "graph")
    done = {}
    began = time.perf_counter()
    for i in order:
        if time.perf_counter() - began > args.budget_s:
            done[i] = _skipped(*specs[i], f"skipped: --budget-s {args.budget_s:g} reached")
        else:
            done[i] = _run_case(*specs[i], sides, args)
        meta["seconds"] = round(time.perf_counter() - began, 1)
        if args.json:
            _write_json(args.json, meta, [done[k] for k in sorted(done)], complete=False)
    cases = [done[k] for k in sorted(done)]
    _graph_vs_eager(cases)
    if args.json:
        _write_json(args.json, meta, cases, complete=True)
    lines, notes = _table(cases)
    print(f"\n{meta.get('gpu', device)}; torch {meta['torch']}; {meta['seconds']} s; "
          f"ratio = dist_torch / torch throughput\n")
    print("\n".join(lines))
    if notes:
        print("\n" + "\n".join(f"- {n}" for n in notes))
    failed = [c["label"] for c in cases if c["check"]["ok"] is False]
    if failed:
        print(f"\n!!! CHECKS FAILED: {', '.join(failed)}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
