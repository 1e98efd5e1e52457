"""Benchmark peer: the official Python SDK doing one row of the client benchmark against
an emulator. `bench.py <cs> batched|single|receive <events>`; prints `RESULT <events> <seconds> <cpu seconds>`,
where <events> counts the events actually acknowledged (sends) or received, which the
caller checks against what the emulator stored.
Batched: 100-event batches (100-byte bodies), 8 in flight over partitions 0 and 1.
Single: one event per send, 256 sends in flight (async client). Receive: <events> events
of partition 1 from the earliest one (filled beforehand by the caller)."""
import asyncio, sys, time
from azure.eventhub import EventData
from azure.eventhub.aio import EventHubProducerClient, EventHubConsumerClient

conn, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
BODY = b"x" * 100
done_events = 0  # acknowledged by the service (sends) or received

async def batched():
    async with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
        await p.get_partition_ids()  # connect before timing
        start = time.perf_counter()
        async def worker(t):
            global done_events
            for _ in range(n // 100 // 8):
                b = await p.create_batch(partition_id=str(t % 2))
                for _ in range(100):
                    b.add(EventData(BODY))
                await p.send_batch(b)
                done_events += len(b)
        await asyncio.gather(*(worker(t) for t in range(8)))
        return time.perf_counter() - start

async def single():
    async with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
        await p.get_partition_ids()
        start = time.perf_counter()
        per_task = n // 256
        async def worker():
            global done_events
            for _ in range(per_task):
                await p.send_event(EventData(BODY), partition_id="2")
                done_events += 1
        await asyncio.gather(*(worker() for _ in range(256)))
        return time.perf_counter() - start

async def receive():
    global done_events
    got = 0
    done = asyncio.Event()
    c = EventHubConsumerClient.from_connection_string(conn, consumer_group="$Default", eventhub_name="eh1")
    async def on_event(ctx, e):
        nonlocal got
        got += 1
        if got >= n:
            done.set()
    start = time.perf_counter()
    task = asyncio.create_task(c.receive(on_event=on_event, partition_id="1", starting_position="-1", prefetch=3000))
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - start
    await c.close()
    task.cancel()
    done_events = got
    return elapsed

cpu0 = time.process_time()
elapsed = asyncio.run({"batched": batched, "single": single, "receive": receive}[mode]())
cpu = time.process_time() - cpu0  # includes connecting; the timed part dominates
print(f"RESULT {done_events} {elapsed:.6f} {cpu:.6f}", flush=True)
