"""Sweep a fleet in batches, keeping its results on disk until they are recorded.

A sweep's memory must not grow with the fleet. The targets come and are
checked a batch at a time (a scheduled sweep reads each batch from the
database as it goes), all batches sharing one :class:`checks.dns.DnsSweep`
(an ESP's ``include:`` is asked once per sweep), whose cache lets go of what
only one batch needed. Each batch's results go to a private temporary file
as soon as they are in; recording reads them back a batch at a time, so
neither the DNS part nor the recording ever holds more than one batch, and
the database transaction is still opened only once every lookup is done.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TypeVar

from checks.results import TargetResult
from checks.targets import Target

# Targets checked (and later recorded) together: enough that the probe pool
# stays busy between batches, few enough that a batch's results are small.
BATCH_SIZE = 2000

CheckBatch = Callable[[Sequence[Target]], list[TargetResult]]
Item = TypeVar("Item")


class ResultSpool:
    """Results of a sweep, written batch by batch and read back the same way."""

    def __init__(self) -> None:
        # An unnamed file (0600, gone when closed): results are the
        # process's own, pickled here and unpickled by it alone.
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.batches = 0
        self.targets = 0

    def write(self, results: list[TargetResult]) -> None:
        """Add one batch."""
        pickle.dump(results, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.batches += 1
        self.targets += len(results)

    def read(self) -> Iterator[list[TargetResult]]:
        """Every batch, in the order written."""
        self._file.seek(0)
        for _ in range(self.batches):
            batch: list[TargetResult] = pickle.load(self._file)
            yield batch

    def close(self) -> None:
        self._file.close()


def slices(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    """``items`` in consecutive slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sweep_in_batches(
    batches: Iterable[Sequence[Target]],
    check: CheckBatch,
    *,
    after_batch: Callable[[], object] = lambda: None,
) -> ResultSpool:
    """Run ``check`` over each batch of targets as it comes; the results, spooled.

    ``after_batch`` runs between batches (the DNS cache's release).
    """
    spool = ResultSpool()
    try:
        for batch in batches:
            spool.write(check(batch))
            after_batch()
    except BaseException:
        spool.close()
        raise
    return spool
