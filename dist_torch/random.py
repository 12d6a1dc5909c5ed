"""(stub)"""

__all__ = []
