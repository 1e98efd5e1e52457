"""Benchmark peer for `eh`: the simplest scripts a Python user would write with the official
SDK to do what `eh send < file` and `eh receive --exit-at-end --from earliest` do.

`lines.py send <cs> <file>`: every line of the file as one event, in batches filled to the
link's limit (sync client). `lines.py receive <cs> <events>`: every partition from the
earliest event until <events> have arrived, bodies written to /dev/null.
Prints `RESULT <events> <seconds>`."""
import sys, time, threading
from azure.eventhub import EventData, EventHubProducerClient, EventHubConsumerClient

mode, conn = sys.argv[1], sys.argv[2]


def send(path):
    n = 0
    with EventHubProducerClient.from_connection_string(conn) as producer:
        producer.get_partition_ids()  # connected before timing
        start = time.perf_counter()
        batch = producer.create_batch()
        with open(path, "rb") as f:
            for line in f:
                event = EventData(line.rstrip(b"\n"))
                try:
                    batch.add(event)
                except ValueError:
                    producer.send_batch(batch)
                    n += len(batch)
                    batch = producer.create_batch()
                    batch.add(event)
        if len(batch):
            producer.send_batch(batch)
            n += len(batch)
        return n, time.perf_counter() - start


def receive(total):
    seen = 0
    done = threading.Event()
    out = open("/dev/null", "wb")
    client = EventHubConsumerClient.from_connection_string(conn, consumer_group="$Default")
    start = [None]

    def on_batch(context, events):
        nonlocal seen
        if start[0] is None:
            start[0] = time.perf_counter()
        for e in events:
            out.write(e.body_as_str().encode() + b"\n")
        seen += len(events)
        if seen >= total:
            done.set()

    thread = threading.Thread(
        target=client.receive_batch,
        kwargs=dict(on_event_batch=on_batch, starting_position="-1", max_batch_size=300,
                    prefetch=3000, max_wait_time=1),
        daemon=True,
    )
    t0 = time.perf_counter()
    thread.start()
    done.wait(600)
    elapsed = time.perf_counter() - t0
    client.close()
    return seen, elapsed


if mode == "send":
    n, secs = send(sys.argv[3])
else:
    n, secs = receive(int(sys.argv[3]))
print(f"RESULT {n} {secs:.3f}", flush=True)
