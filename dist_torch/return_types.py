"""torch.return_types: the named tuples that ops with several results return.

Each type is a ``tuple`` subclass (so it unpacks and indexes like a tuple) whose fields are
also attributes, printed as torch prints them::

    >>> torch.max(torch.tensor([[1., 5.], [7., 2.]]), dim=1)
    torch.return_types.max(
    values=tensor([5., 7.]),
    indices=tensor([1, 0]))

Other op families add their types here with :func:`structseq`.
"""

from __future__ import annotations

from operator import itemgetter

__all__ = ["max", "min", "aminmax", "structseq"]


class _StructSeq(tuple):
    """Base of the return types: a fixed-length tuple with named fields."""

    __slots__ = ()
    _fields: tuple = ()
    n_fields = n_sequence_fields = 0
    n_unnamed_fields = 0

    def __new__(cls, sequence):
        items = tuple(sequence)
        if len(items) != len(cls._fields):
            raise TypeError(f"torch.return_types.{cls.__name__}() takes a "
                            f"{len(cls._fields)}-sequence ({len(items)}-sequence given)")
        return tuple.__new__(cls, items)

    def __repr__(self):
        body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{body})"

    def __reduce__(self):
        return type(self), (tuple(self),)


def structseq(name: str, fields: tuple) -> type:
    """A new return type ``torch.return_types.<name>`` with the given field names."""
    namespace = {field: property(itemgetter(i), doc=f"Field {i}: ``{field}``.")
                 for i, field in enumerate(fields)}
    namespace.update(__slots__=(), __module__=__name__, __qualname__=name, _fields=tuple(fields),
                     n_fields=len(fields), n_sequence_fields=len(fields))
    return type(name, (_StructSeq,), namespace)


max = structseq("max", ("values", "indices"))  # noqa: A001 - torch.return_types.max
min = structseq("min", ("values", "indices"))  # noqa: A001
aminmax = structseq("aminmax", ("min", "max"))
