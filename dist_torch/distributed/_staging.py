"""Device arrays on the MPI backend: staged through host memory around every MPI call.

MPI here reads host memory only (the mpich wheel is not CUDA-aware), so an operation on CUDA
arrays runs as: in the issuing thread, a mark on each array's current stream
(``staging.ready``); on the communication thread, a host copy of every array the operation
reads taken after that mark, the MPI call on the host copies, and a copy back into every
device array it writes (also after the mark, since work queued before the operation may
still use the array). Host arrays pass through untouched. One call may not mix devices.
"""

from __future__ import annotations

from dist_torch.backend import staging


def _flat(args):
    for arg in args:
        if isinstance(arg, (list, tuple)):
            yield from (a for a in arg if a is not None)
        elif arg is not None:
            yield arg


def check_one_device(name: str, arrays) -> bool:
    """True when the arrays are on a device (not host); every array must be on the same one."""
    arrays = [a for a in arrays if a is not None]
    if not arrays:
        return False
    where = [staging.device_name(a) for a in arrays]
    if len(set(where)) > 1:
        seen = list(dict.fromkeys(where))
        raise RuntimeError(f"{name}: all tensors of one call must be on the same device, got "
                           f"tensors on {' and '.join(seen)} (the MPI backend stages CUDA "
                           "tensors through host memory; move them to one device first)")
    return staging.is_device_array(arrays[0])


def wrap(name: str, run, args, reads, writes):
    """``run(*args)`` as a callable for the communication thread: with device arrays in
    ``args`` replaced by host arrays (copies of those in ``reads``, uninitialised for the
    others) and the host results of ``writes`` copied back into their device arrays."""
    args = list(args)
    if not check_one_device(name, _flat(args)):
        return lambda: run(*args)
    mark = staging.ready(list(_flat(args)))
    read_ids = {id(a) for a in reads}
    writes = list(writes)

    def staged():
        host = {}

        def swap(a):
            if a is None or not staging.is_device_array(a):
                return a
            if id(a) not in host:
                host[id(a)] = staging.download(a, mark) if id(a) in read_ids else \
                    staging.host_empty(a)
            return host[id(a)]

        value = run(*[[swap(a) for a in arg] if isinstance(arg, (list, tuple)) else swap(arg)
                      for arg in args])
        for a in writes:
            staging.upload(a, host[id(a)], mark)
        return value
    return staged


def host_send_buffer(array):
    """``array`` itself, or a host copy of the device array (taken now, in this thread)."""
    if not staging.is_device_array(array):
        return array
    return staging.download(array, staging.ready([array]))


def host_recv_buffer(array):
    """``(host array, copy_back)``: where to receive ``array``; ``copy_back`` (or None) moves
    the received data into the device array."""
    if not staging.is_device_array(array):
        return array, None
    host = staging.host_empty(array)
    mark = staging.ready([array])
    return host, lambda: staging.upload(array, host, mark)
