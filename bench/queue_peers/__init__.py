"""The jobs of ``bench/queue_throughput.py``, the same code for every queue system.

- :mod:`.work`: the two kinds of job (``noop``, ``thumbnail``), the completion
  record each worker writes, and our worker's task set
  (``--tasks queue_peers.work:tasks=THREADS``);
- :mod:`.celery_app`: the Celery 5 app on Redis, one task that calls :mod:`.work`;
- :mod:`.dramatiq_app`: the Dramatiq broker on Redis, one actor likewise;
- :mod:`.produce`: the producer process, one per run, for any of the three.

Imported by worker processes with ``bench/`` on ``PYTHONPATH``. Configuration
comes from the environment (:data:`.work.BROKER_ENV`, :data:`.work.RECORD_ENV`),
as the worker programs of Celery and Dramatiq import a module and take no
arguments of ours.
"""
