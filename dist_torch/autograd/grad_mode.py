"""Grad-mode switches: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each is a context manager and a decorator. The state is thread-local, as in torch.
"""

from __future__ import annotations

import functools
import inspect
import threading


class _State(threading.local):
    grad_enabled = True
    inference = False


state = _State()


def is_grad_enabled() -> bool:
    """True when operations record the autograd graph."""
    return state.grad_enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _GradModeContext:
    """Base of the switches: subclasses set ``_enter_state`` and get ``with`` and ``@`` forms."""

    def _target(self):
        raise NotImplementedError

    def __enter__(self):
        self._prev = (state.grad_enabled, state.inference)
        state.grad_enabled, state.inference = self._target()
        return None

    def __exit__(self, *exc):
        state.grad_enabled, state.inference = self._prev
        return False

    def clone(self):
        return self.__class__()

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    with self.clone():
                        try:
                            response = gen.send(request)
                        except StopIteration as stop:
                            return stop.value
            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):  # noqa: N801 - torch names
    """Disable graph recording: results of ops inside do not require grad.

    Example::

        with torch.no_grad():
            y = x * 2          # y.requires_grad is False
    """

    def __init__(self, orig_func=None):
        # ``@no_grad`` without parentheses: torch accepts it too.
        self._orig = orig_func
        if orig_func is not None:
            functools.update_wrapper(self, orig_func)

    def __call__(self, *args, **kwargs):
        if self._orig is not None:
            with self.clone():
                return self._orig(*args, **kwargs)
        return super().__call__(*args)

    def _target(self):
        return False, state.inference


class enable_grad(_GradModeContext):  # noqa: N801
    """Re-enable graph recording inside a ``no_grad`` block."""

    def _target(self):
        return True, state.inference


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """Turn graph recording on or off: as a call, a context manager or a decorator.

    ``torch.set_grad_enabled(False)`` used as a plain call switches the mode at once.
    """

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = (state.grad_enabled, state.inference)
        state.grad_enabled = self._mode

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        state.grad_enabled, state.inference = self._prev
        return False

    def clone(self):
        return _SetGradMode(self._mode)

    def _target(self):
        return self._mode, state.inference


class _SetGradMode(_GradModeContext):
    def __init__(self, mode):
        self._mode = mode

    def _target(self):
        return self._mode, state.inference


class inference_mode(_GradModeContext):  # noqa: N801
    """Like ``no_grad``, for code that will never need gradients (``mode=False`` is a no-op)."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)

    def clone(self):
        return inference_mode(self._mode)

    def _target(self):
        if not self._mode:
            return state.grad_enabled, state.inference
        return False, True
