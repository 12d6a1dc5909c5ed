"""Recurrent layers as fused primitives: all time steps of one layer in one direction.

The input-to-hidden projection of every time step is one GEMM done outside (``F.linear`` on
the whole sequence); :class:`Recurrence` takes those projections ``xproj`` ``(T, B, G*H)`` and
runs the sequential part: per step one ``(B, P) @ (P, G*H)`` GEMM and the gate arithmetic,
vectorized over the batch. Backward is backpropagation through time over the saved gates, with
the weight gradients accumulated in one GEMM over all steps at the end.

Gate order follows torch: LSTM ``i, f, g, o``; GRU ``r, z, n`` with the reset gate applied to
``W_hn h + b_hn``. LSTM projections (``proj_size``) map ``o * tanh(c)`` through ``w_hr``.
"""

from __future__ import annotations

from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module

__all__ = []

GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}


def _sigmoid(xp, a, out=None):
    """Sigmoid without overflow: ``0.5 * tanh(0.5 * a) + 0.5``."""
    out = xp.multiply(a, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _previous(first, seq, reverse):
    """The state entering each step: ``first`` then ``seq`` shifted by one step."""
    xp = array_module(seq)
    prev = xp.empty_like(seq)
    if seq.shape[0]:
        if reverse:
            prev[:-1] = seq[1:]
            prev[-1] = first
        else:
            prev[1:] = seq[:-1]
            prev[0] = first
    return prev


def _flat(a):
    return a.reshape(-1, a.shape[-1])


class Recurrence(Primitive):
    """One recurrent layer over a whole sequence, one direction.

    Inputs: ``xproj (T, B, G*H)``, ``h0 (B, P)`` or None, ``c0 (B, H)`` or None (LSTM),
    ``w_hh (G*H, P)``, ``b_hh (G*H)`` or None, ``w_hr (P, H)`` or None (LSTM projection).
    Outputs: every step's hidden state ``(T, B, P)``, the last hidden state ``(B, P)`` and,
    for LSTM, the last cell state ``(B, H)``.
    """

    def forward(ctx, xproj, h0, c0, w_hh, b_hh, w_hr, mode, reverse):
        xp = array_module(xproj)
        n_t, batch, width = xproj.shape
        hid = width // GATES[mode]
        proj = w_hr.shape[0] if w_hr is not None else hid
        dtype = xproj.dtype
        h = xp.zeros((batch, proj), dtype=dtype) if h0 is None else h0
        ctx.mode, ctx.reverse, ctx.hid = mode, reverse, hid
        ctx.h0_given, ctx.c0_given = h0 is not None, c0 is not None
        steps = range(n_t - 1, -1, -1) if reverse else range(n_t)
        w_t = w_hh.T
        outs = xp.empty((n_t, batch, proj), dtype=dtype)
        if mode in ("tanh", "relu"):
            for t in steps:
                a = xp.matmul(h, w_t)
                a += xproj[t]
                if b_hh is not None:
                    a += b_hh
                h = outs[t]
                if mode == "tanh":
                    xp.tanh(a, out=h)
                else:
                    xp.maximum(a, 0, out=h)
            ctx.save_for_backward(h0, outs, w_hh)
            return outs, outs[steps[-1]].copy() if n_t else h.copy()
        if mode == "lstm":
            c = xp.zeros((batch, hid), dtype=dtype) if c0 is None else c0
            gates = xp.empty((n_t, batch, width), dtype=dtype)
            cells = xp.empty((n_t, batch, hid), dtype=dtype)
            tanh_c = xp.empty((n_t, batch, hid), dtype=dtype)
            rs = xp.empty((n_t, batch, hid), dtype=dtype) if w_hr is not None else None
            for t in steps:
                a = gates[t]
                xp.matmul(h, w_t, out=a)
                a += xproj[t]
                if b_hh is not None:
                    a += b_hh
                _sigmoid(xp, a[:, :2 * hid], out=a[:, :2 * hid])
                xp.tanh(a[:, 2 * hid:3 * hid], out=a[:, 2 * hid:3 * hid])
                _sigmoid(xp, a[:, 3 * hid:], out=a[:, 3 * hid:])
                c_new = cells[t]
                xp.multiply(a[:, hid:2 * hid], c, out=c_new)
                c_new += a[:, :hid] * a[:, 2 * hid:3 * hid]
                c = c_new
                xp.tanh(c, out=tanh_c[t])
                if w_hr is None:
                    h = outs[t]
                    xp.multiply(a[:, 3 * hid:], tanh_c[t], out=h)
                else:
                    xp.multiply(a[:, 3 * hid:], tanh_c[t], out=rs[t])
                    h = outs[t]
                    xp.matmul(rs[t], w_hr.T, out=h)
            ctx.save_for_backward(h0, c0, outs, gates, cells, tanh_c, rs, w_hh, w_hr)
            last = steps[-1] if n_t else None
            h_last = outs[last].copy() if n_t else h.copy()
            c_last = cells[last].copy() if n_t else c.copy()
            return outs, h_last, c_last
        # GRU
        gates = xp.empty((n_t, batch, width), dtype=dtype)
        hn = xp.empty((n_t, batch, hid), dtype=dtype)
        for t in steps:
            gh = xp.matmul(h, w_t)
            if b_hh is not None:
                gh += b_hh
            a = gates[t]
            x_t = xproj[t]
            xp.add(x_t[:, :2 * hid], gh[:, :2 * hid], out=a[:, :2 * hid])
            _sigmoid(xp, a[:, :2 * hid], out=a[:, :2 * hid])
            hn[t] = gh[:, 2 * hid:]
            n = a[:, 2 * hid:]
            xp.multiply(a[:, :hid], gh[:, 2 * hid:], out=n)
            n += x_t[:, 2 * hid:]
            xp.tanh(n, out=n)
            h_new = outs[t]
            xp.subtract(h, n, out=h_new)
            h_new *= a[:, hid:2 * hid]
            h_new += n
            h = h_new
        ctx.save_for_backward(h0, outs, gates, hn, w_hh)
        return outs, outs[steps[-1]].copy() if n_t else h.copy()

    def backward(ctx, g_out, g_h, g_c=None):
        mode = ctx.mode
        if mode in ("tanh", "relu"):
            h0, outs, w_hh = ctx.saved_tensors
        elif mode == "lstm":
            h0, c0, outs, gates, cells, tanh_c, rs, w_hh, w_hr = ctx.saved_tensors
        else:
            h0, outs, gates, hn, w_hh = ctx.saved_tensors
        xp = array_module(outs)
        n_t, batch, proj = outs.shape
        hid = ctx.hid
        width = w_hh.shape[0]
        dtype = outs.dtype
        reverse = ctx.reverse
        steps = range(n_t) if reverse else range(n_t - 1, -1, -1)  # backward order
        needs = ctx.needs_input_grad
        dh_next = xp.zeros((batch, proj), dtype=dtype) if g_h is None else \
            g_h.astype(dtype, copy=True)
        d_x = xp.empty((n_t, batch, width), dtype=dtype)

        if mode in ("tanh", "relu"):
            for t in steps:
                dh = dh_next if g_out is None else dh_next + g_out[t]
                da = d_x[t]
                if mode == "tanh":
                    xp.multiply(outs[t], outs[t], out=da)
                    xp.subtract(1, da, out=da)
                    da *= dh
                else:
                    xp.multiply(dh, outs[t] > 0, out=da)
                dh_next = xp.matmul(da, w_hh)
            d_gh = d_x
        elif mode == "lstm":
            dc_next = xp.zeros((batch, hid), dtype=dtype) if g_c is None else g_c.astype(dtype)
            d_hs = xp.empty((n_t, batch, proj), dtype=dtype) if w_hr is not None else None
            zero_c = xp.zeros((batch, hid), dtype=dtype) if c0 is None else c0
            for t in steps:
                dh = dh_next if g_out is None else dh_next + g_out[t]
                if w_hr is not None:
                    d_hs[t] = dh
                    dr = xp.matmul(dh, w_hr)
                else:
                    dr = dh
                a = gates[t]
                i, f, g, o = a[:, :hid], a[:, hid:2 * hid], a[:, 2 * hid:3 * hid], a[:, 3 * hid:]
                tc = tanh_c[t]
                c_prev = (cells[t + 1] if t + 1 < n_t else zero_c) if reverse else \
                    (cells[t - 1] if t > 0 else zero_c)
                dc = dr * o
                dc *= 1 - tc * tc
                dc += dc_next
                da = d_x[t]
                # da_i = dc * g * i(1-i);  da_f = dc * c_prev * f(1-f)
                xp.multiply(dc, g, out=da[:, :hid])
                da[:, :hid] *= i * (1 - i)
                xp.multiply(dc, c_prev, out=da[:, hid:2 * hid])
                da[:, hid:2 * hid] *= f * (1 - f)
                # da_g = dc * i * (1 - g^2);  da_o = dr * tanh(c) * o(1-o)
                xp.multiply(dc, i, out=da[:, 2 * hid:3 * hid])
                da[:, 2 * hid:3 * hid] *= 1 - g * g
                xp.multiply(dr, tc, out=da[:, 3 * hid:])
                da[:, 3 * hid:] *= o * (1 - o)
                dc_next = dc * f
                dh_next = xp.matmul(da, w_hh)
            d_gh = d_x
        else:
            d_gh = xp.empty((n_t, batch, width), dtype=dtype)
            zero_h = xp.zeros((batch, proj), dtype=dtype) if h0 is None else h0
            for t in steps:
                dh = dh_next if g_out is None else dh_next + g_out[t]
                h_prev = (outs[t + 1] if t + 1 < n_t else zero_h) if reverse else \
                    (outs[t - 1] if t > 0 else zero_h)
                a = gates[t]
                r, z, n = a[:, :hid], a[:, hid:2 * hid], a[:, 2 * hid:]
                dx, dg = d_x[t], d_gh[t]
                # da_n = dh * (1 - z) * (1 - n^2)
                dan = dx[:, 2 * hid:]
                xp.subtract(1, z, out=dan)
                dan *= dh
                dan *= 1 - n * n
                # da_r = da_n * hn * r(1-r);  da_z = dh * (h_prev - n) * z(1-z)
                xp.multiply(dan, hn[t], out=dx[:, :hid])
                dx[:, :hid] *= r * (1 - r)
                xp.subtract(h_prev, n, out=dx[:, hid:2 * hid])
                dx[:, hid:2 * hid] *= dh
                dx[:, hid:2 * hid] *= z * (1 - z)
                dg[:, :2 * hid] = dx[:, :2 * hid]
                xp.multiply(dan, r, out=dg[:, 2 * hid:])
                dh_next = xp.matmul(dg, w_hh)
                dh_next += dh * z

        grads = [d_x if needs[0] else None, None, None, None, None, None]
        if needs[1] and ctx.h0_given:
            grads[1] = dh_next
        if mode == "lstm" and needs[2] and ctx.c0_given:
            grads[2] = dc_next
        if needs[3]:
            first = xp.zeros((batch, proj), dtype=dtype) if h0 is None else h0
            prev = _previous(first, outs, reverse)
            grads[3] = xp.matmul(_flat(d_gh).T, _flat(prev))
        if needs[4]:
            grads[4] = _flat(d_gh).sum(axis=0)
        if mode == "lstm" and w_hr is not None and needs[5]:
            grads[5] = xp.matmul(_flat(d_hs).T, _flat(rs))
        return tuple(grads)


def recurrence(xproj, h0, c0, w_hh, b_hh, w_hr, mode: str, reverse: bool = False):
    """Run :class:`Recurrence` on tensors; returns ``(outputs, h_last[, c_last])``."""
    return Recurrence.apply(xproj, h0, c0, w_hh, b_hh, w_hr, mode=mode, reverse=reverse)

