"""The CPU backend: NumPy. Ops reach it through ``backend.array_module``."""

import numpy

xp = numpy
