"""Cross-SDK round trips with our Rust client. `send <cs>`: sends a fully populated event
to partition 0 and a keyed event; `receive <cs> <partition> <count>`: prints each received
event as one JSON line (body, properties, partition key, system properties, message
fields). The Rust test asserts on both sides."""
import json, sys, threading, time
from azure.eventhub import EventHubProducerClient, EventHubConsumerClient, EventData

mode, conn = sys.argv[1], sys.argv[2]

if mode == "send":
    with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
        e = EventData("from-py")
        e.properties = {"n": 7, "s": "text"}
        e.content_type = "text/plain"
        e.correlation_id = "corr-py"
        e.message_id = "mid-py"
        p.send_batch([e], partition_id="0")
        b = p.create_batch(partition_key="py-key")
        b.add(EventData("keyed-py"))
        p.send_batch(b)
    print("ok", flush=True)
    sys.exit(0)

partition, count = sys.argv[3], int(sys.argv[4])
got = []
c = EventHubConsumerClient.from_connection_string(conn, consumer_group="$Default", eventhub_name="eh1")
t = threading.Thread(target=lambda: c.receive(on_event=lambda ctx, e: got.append(e), partition_id=partition,
                                              starting_position="-1"), daemon=True)
t.start()
deadline = time.time() + 20
while len(got) < count and time.time() < deadline:
    time.sleep(0.05)
c.close()

def text(v):
    return v.decode() if isinstance(v, bytes) else v

for e in got:
    print(json.dumps({
        "body": e.body_as_str(),
        "properties": {text(k): text(v) for k, v in (e.properties or {}).items()},
        "partition_key": text(e.partition_key),
        "sequence_number": e.sequence_number,
        "offset": str(e.offset),
        "enqueued_ms": int(e.enqueued_time.timestamp() * 1000),
        "message_id": text(e.message_id),
        "content_type": text(e.content_type),
        "correlation_id": text(e.correlation_id),
    }), flush=True)
print("ok" if len(got) >= count else f"FAILED got {len(got)} of {count}", flush=True)
sys.exit(0 if len(got) >= count else 1)
