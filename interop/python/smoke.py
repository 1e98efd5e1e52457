"""Smoke test of the official Python SDK against the emulator: properties, send, receive."""
import sys, time
from azure.eventhub import EventHubProducerClient, EventHubConsumerClient, EventData

conn = sys.argv[1]
producer = EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1")
with producer:
    props = producer.get_eventhub_properties()
    print("hub", props)
    print("partition", producer.get_partition_properties("0"))
    batch = producer.create_batch(partition_key="k1")
    for i in range(5):
        batch.add(EventData(f"event {i}"))
    producer.send_batch(batch)
    producer.send_event(EventData("single"), partition_id="2")
    print("sent")

got = []
def on_event(ctx, event):
    got.append((ctx.partition_id, event.body_as_str(), event.sequence_number, event.offset, event.partition_key))

consumer = EventHubConsumerClient.from_connection_string(conn, consumer_group="$Default", eventhub_name="eh1")
import threading
t = threading.Thread(target=lambda: consumer.receive(on_event=on_event, starting_position="-1"), daemon=True)
t.start()
deadline = time.time() + 20
while len(got) < 6 and time.time() < deadline:
    time.sleep(0.2)
consumer.close()
print("received", sorted(got))
keyed = sorted(g for g in got if g[4] == b"k1")
expected_bodies = [f"event {i}" for i in range(5)]
ok = (
    len(got) == 6
    and [g[1] for g in keyed] == expected_bodies
    and [g[2] for g in keyed] == list(range(5))
    and len({g[0] for g in keyed}) == 1
    and ("2", "single", 0, "0", None) in got
    and props["partition_ids"] == ["0", "1", "2", "3"]
)
print("ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
