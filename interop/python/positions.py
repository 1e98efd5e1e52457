"""Official Python SDK against the emulator: a wrong SAS key is rejected, and receiving
from a sequence number (inclusive and exclusive), an offset, and latest each starts at the
right event. Prints 'ok' only if every check passes."""
import sys, threading, time
from azure.eventhub import EventHubProducerClient, EventHubConsumerClient, EventData

conn = sys.argv[1]
failures = []

def check(name, cond):
    print(("PASS " if cond else "FAIL ") + name, flush=True)
    if not cond:
        failures.append(name)

# 1. A wrong key is refused.
bad = conn.replace("SharedAccessKey=SAS_KEY_VALUE", "SharedAccessKey=wrong")
try:
    p = EventHubProducerClient.from_connection_string(bad, eventhub_name="eh1", retry_total=0)
    with p:
        p.send_event(EventData("never"), partition_id="1")
    check("wrong key rejected", False)
except Exception as e:  # AuthenticationError / ConnectError depending on the stage
    check(f"wrong key rejected ({type(e).__name__})", True)

# 2. Ten events on partition 1.
producer = EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1")
with producer:
    batch = producer.create_batch(partition_id="1")
    for i in range(10):
        batch.add(EventData(f"p1-{i}"))
    producer.send_batch(batch)
    info = producer.get_partition_properties("1")
check("partition properties", info["last_enqueued_sequence_number"] == 9 and not info["is_empty"])

def first_event(position, inclusive):
    got = []
    c = EventHubConsumerClient.from_connection_string(conn, consumer_group="$Default", eventhub_name="eh1")
    t = threading.Thread(target=lambda: c.receive(on_event=lambda ctx, e: got.append(e), partition_id="1",
                                                  starting_position=position, starting_position_inclusive=inclusive), daemon=True)
    t.start()
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        time.sleep(0.1)
    c.close()
    return got[0] if got else None

e = first_event(4, True)
check("sequence number 4 inclusive", e is not None and e.sequence_number == 4 and e.body_as_str() == "p1-4")
e = first_event(4, False)
check("sequence number 4 exclusive", e is not None and e.sequence_number == 5)
offset_of_6 = None
e6 = first_event(6, True)
if e6 is not None:
    e = first_event(e6.offset, False)
    check("offset exclusive", e is not None and e.sequence_number == 7)
else:
    check("offset exclusive", False)
e = first_event("-1", False)
check("earliest", e is not None and e.sequence_number == 0)

# Enqueued time: each of three events sent apart has its own time; inclusive starts at the
# event enqueued at that instant, exclusive right after it.
with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
    for i in range(3):
        p.send_event(EventData(f"t-{i}"), partition_id="1")
        time.sleep(0.05)
t1 = first_event(11, True)
check("event t-1 found", t1 is not None and t1.body_as_str() == "t-1")
if t1 is not None:
    e = first_event(t1.enqueued_time, True)
    check("enqueued time inclusive", e is not None and e.body_as_str() == "t-1")
    e = first_event(t1.enqueued_time, False)
    check("enqueued time exclusive", e is not None and e.body_as_str() == "t-2")

# Latest: nothing old arrives; a new event does.
got = []
c = EventHubConsumerClient.from_connection_string(conn, consumer_group="$Default", eventhub_name="eh1")
t = threading.Thread(target=lambda: c.receive(on_event=lambda ctx, e: got.append(e), partition_id="1", starting_position="@latest"), daemon=True)
t.start()
time.sleep(2)
with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
    p.send_event(EventData("after"), partition_id="1")
deadline = time.time() + 10
while not got and time.time() < deadline:
    time.sleep(0.1)
c.close()
print("latest got", [(e.sequence_number, e.body_as_str()) for e in got]); check("latest", len(got) == 1 and got[0].body_as_str() == "after" and got[0].sequence_number == 13)

print("ok" if not failures else f"FAILED {failures}", flush=True)
sys.exit(1 if failures else 0)
