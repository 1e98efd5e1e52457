"""Official Python SDK against the emulator: an epoch (owner_level) receiver steals a
partition from a lower one, which is told its link was stolen; a receiver without an
epoch is then refused. Prints 'ok' only if every check passes."""
import sys
from azure.eventhub import EventHubProducerClient, EventData
from common import Background, check, finish, wait_until

conn = sys.argv[1]
with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
    p.send_batch([EventData(f"e{i}") for i in range(3)], partition_id="0")

old = Background(conn, "0", owner_level=1, starting_position="-1")
check("owner level 1 receives", wait_until(lambda: len(old.events) >= 3)
      and [e.body_as_str() for e in old.events[:3]] == ["e0", "e1", "e2"])

new = Background(conn, "0", owner_level=2, starting_position="-1")
check("owner level 2 receives", wait_until(lambda: len(new.events) >= 3)
      and [e.body_as_str() for e in new.events[:3]] == ["e0", "e1", "e2"])
check("owner level 1 is told its link was stolen", wait_until(lambda: len(old.errors) >= 1)
      and any("stolen" in str(e).lower() or "epoch" in str(e).lower() for e in old.errors))
print("old receiver errors:", [f"{type(e).__name__}: {e}" for e in old.errors[:2]], flush=True)
old.close()

plain = Background(conn, "0", starting_position="-1")
check("receiver without owner level is refused", wait_until(lambda: len(plain.errors) >= 1)
      and not plain.events)
print("plain receiver errors:", [f"{type(e).__name__}: {e}" for e in plain.errors[:1]], flush=True)
plain.close()

# The epoch receiver kept its partition: a new event still reaches it.
with EventHubProducerClient.from_connection_string(conn, eventhub_name="eh1") as p:
    p.send_event(EventData("after"), partition_id="0")
check("owner level 2 keeps receiving", wait_until(lambda: any(e.body_as_str() == "after" for e in new.events)))
new.close()
finish()
