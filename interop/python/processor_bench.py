"""Benchmark peer: the official Python SDK's processor (EventHubConsumerClient with the aio
BlobCheckpointStore) handling every event of a pre-filled hub, checkpointing every 1,000
events per partition; prints `RESULT <events> <seconds> <cpu seconds>` (time from the first
event handled to the last).

Usage: processor_bench.py <event hubs connection string> <storage connection string> <container> <events>
"""
import asyncio
import sys
import time

from azure.eventhub.aio import EventHubConsumerClient
from azure.eventhub.extensions.checkpointstoreblobaio import BlobCheckpointStore


async def main():
    conn, storage, container, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = BlobCheckpointStore.from_connection_string(storage, container)
    client = EventHubConsumerClient.from_connection_string(
        conn, consumer_group="$Default", eventhub_name="eh1", checkpoint_store=store,
        load_balancing_strategy="greedy", load_balancing_interval=1.0)
    handled, per_partition, first = 0, {}, None
    done = asyncio.Event()

    async def on_event(ctx, event):
        nonlocal handled, first
        if event is None:
            return
        if first is None:
            first = time.perf_counter()
        handled += 1
        n = per_partition.get(ctx.partition_id, 0) + 1
        per_partition[ctx.partition_id] = n
        if n % 1000 == 0:
            await ctx.update_checkpoint(event)
        if handled >= total:
            done.set()

    cpu0 = time.process_time()
    task = asyncio.create_task(client.receive(on_event=on_event, starting_position="-1", prefetch=3000))
    await done.wait()
    secs = time.perf_counter() - first
    cpu = time.process_time() - cpu0
    await client.close()
    try:
        await task
    except asyncio.CancelledError:
        pass
    print(f"RESULT {handled} {secs} {cpu}", flush=True)


asyncio.run(main())
