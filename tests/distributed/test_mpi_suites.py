"""Run the MPI test suites (tests/distributed/mpi) under mpiexec from an ordinary pytest run.

``pytest tests/`` runs these: each launches ``mpiexec -n N python -m pytest --with-mpi -q
tests/distributed/mpi`` (and a plain ``python`` run for the singleton world of size 1) and
asserts every rank passed. To run one suite by hand::

    OMP_NUM_THREADS=1 mpiexec -n 2 python -m pytest --with-mpi -q tests/distributed/mpi
"""

import re

import pytest

from tests.distributed import jobs

SUITE = "tests/distributed/mpi"


@pytest.mark.parametrize("ranks", [None, 2, 3], ids=["singleton", "2-ranks", "3-ranks"])
def test_mpi_suite(ranks):
    job = jobs.run(["-m", "pytest", "--with-mpi", "-q", "-p", "no:cacheprovider", SUITE],
                   ranks, timeout=240)
    tail = job.output[-6000:]
    assert not job.timed_out, f"the suite did not finish within 240 s:\n{tail}"
    assert job.returncode == 0, f"the suite failed (exit {job.returncode}):\n{tail}"
    # ranks share one output stream, so a summary may follow another rank's text on its line
    summaries = re.findall(r"(\d+) passed(?:, \d+ \w+)* in [\d.]+s", job.output)
    assert len(summaries) == (ranks or 1), f"expected one summary per rank:\n{tail}"
    assert all(int(n) > 0 for n in summaries), tail
