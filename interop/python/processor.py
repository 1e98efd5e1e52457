"""The official Python SDK's event processor (EventHubConsumerClient with the aio
BlobCheckpointStore) as a member of a mixed fleet: prints `handled <partition> <sequence>`
per event and checkpoints each; stops cleanly on SIGTERM (closing releases its partitions).

Usage: processor.py <event hubs connection string> <storage connection string> <container> [hub]
"""
import asyncio
import signal
import sys

from azure.eventhub.aio import EventHubConsumerClient
from azure.eventhub.extensions.checkpointstoreblobaio import BlobCheckpointStore


async def main():
    conn, storage, container = sys.argv[1:4]
    hub = sys.argv[4] if len(sys.argv) > 4 else "eh1"
    store = BlobCheckpointStore.from_connection_string(storage, container)
    client = EventHubConsumerClient.from_connection_string(
        conn,
        consumer_group="$Default",
        eventhub_name=hub,
        checkpoint_store=store,
        load_balancing_interval=0.4,
        partition_ownership_expiration_interval=2.0,
        load_balancing_strategy="balanced",
    )

    async def on_event(partition_context, event):
        if event is None:
            return
        print(f"handled {partition_context.partition_id} {event.sequence_number}", flush=True)
        await partition_context.update_checkpoint(event)

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    receiving = asyncio.create_task(client.receive(on_event=on_event, starting_position="-1"))
    print("started", flush=True)
    await stop.wait()
    await client.close()
    try:
        await receiving
    except asyncio.CancelledError:
        pass
    await store.close()
    print("closed", flush=True)


asyncio.run(main())
