"""Official Python SDK against the emulator: an event of nearly 1 MiB (split over many
AMQP frames both ways) arrives byte for byte; one over 1 MiB is refused by the SDK's
batch against the link's advertised max-message-size. Prints 'ok' only if every check
passes."""
import sys, os
from azure.eventhub import EventHubProducerClient, EventData
from common import Background, check, finish, wait_until

conn = sys.argv[1]
payload = os.urandom(1024 * 1024 - 4096)
with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
    batch = p.create_batch(partition_id="3")
    check("batch limit is the link's 1 MiB", batch.max_size_in_bytes == 1024 * 1024)
    batch.add(EventData(payload))
    p.send_batch(batch)
    too_big = p.create_batch(partition_id="3")
    try:
        too_big.add(EventData(b"x" * (1024 * 1024 + 1)))
        check("over 1 MiB refused", False)
    except ValueError as e:
        check(f"over 1 MiB refused ({type(e).__name__})", True)

r = Background(conn, "3", starting_position="-1")
check("large event received", wait_until(lambda: len(r.events) >= 1))
r.close()
body = b"".join(r.events[0].body) if r.events else b""
check("large event intact", body == payload)
finish()
