"""Overflight beyond one machine: frames sharded by aircraft address on NATS JetStream,
workers that run a station per shard, and API nodes that serve the merged live picture.

* :func:`~overflight.bus.publish.attach_bus` (ingest: ``overflight serve --bus``),
* :func:`~overflight.bus.worker.run_worker` (``overflight worker``),
* :func:`~overflight.bus.worker.run_clock_sync` (``overflight worker --clock-sync``: clock
  synchronisation over every shard's references, for the shards' MLAT; :mod:`.clocks`),
* :class:`~overflight.bus.picture.BusPicture` (an API node's live picture).

The single-process station stays the default and the fastest path on one machine; see
``docs/scaling.md``. Importing this package imports nothing heavy.
"""

__all__ = ["attach_bus"]


def __getattr__(name: str) -> object:
    if name == "attach_bus":
        from overflight.bus.publish import attach_bus

        return attach_bus
    raise AttributeError(name)
