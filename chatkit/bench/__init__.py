"""``chatkit bench``: measure the three server backends side by side.

How the pieces fit (read them in this order):

* :mod:`chatkit.bench.stats`: percentiles and medians, nothing else.
* :mod:`chatkit.bench.procinfo`: memory and CPU time of a process, read from ``/proc`` (Linux).
* :mod:`chatkit.bench.runner`: starts ``chatkit serve`` in a subprocess and always ends it.
* :mod:`chatkit.bench.loadgen`: an asyncio load generator speaking the same IRC subset.
* :mod:`chatkit.bench.scenarios`: ``connect``, ``fanout`` and ``slow``, built on the generator.
* :mod:`chatkit.bench.results` and :mod:`chatkit.bench.report`: results, medians, tables, JSON.
* :mod:`chatkit.bench.suite`: runs every backend x scenario x run and collects the results.

Speed and memory are checked here, with real sockets and a real server process, never by
timed unit tests.
"""

__all__ = ["BenchError"]


class BenchError(Exception):
    """The bench cannot run: the server did not start, or this is not Linux.

    ::

        BenchError
        ├── ServerStartError   (runner) the server subprocess did not start or died
        └── ProcInfoError      (procinfo) memory or CPU time could not be read
    """
