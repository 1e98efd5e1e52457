"""Official Python SDK against the emulator: the buffered producer (buffered_mode=True)
with partition keys, explicit partitions and round-robin events; every event arrives once,
keyed ones in order on the partition lookup3 assigns. Prints 'ok' only if every check
passes."""
import sys, threading
from azure.eventhub import EventHubProducerClient, EventData
from common import Background, check, finish, wait_until

conn = sys.argv[1]
succeeded, failed, lock = [], [], threading.Lock()

def on_success(events, pid):
    with lock:
        succeeded.extend((pid, e.body_as_str()) for e in events)

def on_error(events, pid, err):
    with lock:
        failed.append((pid, repr(err)))

producer = EventHubProducerClient.from_connection_string(
    conn, eventhub_name="eh1", buffered_mode=True, on_success=on_success, on_error=on_error,
    max_wait_time=0.2)
with producer:
    for i in range(30):
        producer.send_event(EventData(f"keyed-{i}"), partition_key="buffered-key")
    for i in range(10):
        producer.send_event(EventData(f"p2-{i}"), partition_id="2")
    for i in range(20):
        producer.send_event(EventData(f"any-{i}"))
    producer.flush()
check("no send errors", not failed)
check("on_success saw all 60 events", len(succeeded) == 60)

receivers = [Background(conn, str(p), starting_position="-1") for p in range(4)]
check("all 60 events received", wait_until(lambda: sum(len(r.events) for r in receivers) >= 60))
by_partition = {str(p): [e.body_as_str() for e in r.events] for p, r in enumerate(receivers)}
for r in receivers:
    r.close()
bodies = sorted(b for v in by_partition.values() for b in v)
check("each event exactly once", bodies == sorted([f"keyed-{i}" for i in range(30)]
      + [f"p2-{i}" for i in range(10)] + [f"any-{i}" for i in range(20)]))
keyed_partitions = {p for p, v in by_partition.items() if any(b.startswith("keyed-") for b in v)}
check("keyed events share one partition", len(keyed_partitions) == 1)
kp = keyed_partitions.pop() if len(keyed_partitions) == 1 else None
check("keyed events keep their order", kp is not None and
      [b for b in by_partition[kp] if b.startswith("keyed-")] == [f"keyed-{i}" for i in range(30)])
check("partition-targeted events on partition 2",
      [b for b in by_partition["2"] if b.startswith("p2-")] == [f"p2-{i}" for i in range(10)])
finish()
