"""The official Python SDK signed in with a Microsoft Entra ID token (a token credential,
so the SDK puts a `jwt` on $cbs) against the emulator validating JWTs (`--jwt-key`), over
wss:// with the emulator's CA: a batch sent and read back; then a token for another
audience, which the emulator refuses (the SDK reports an AuthenticationError).

Arguments: <wss port> <CA file> <good token> <wrong-audience token> <expires_on>.
"""
import sys, threading
from azure.core.credentials import AccessToken
from azure.eventhub import (EventHubProducerClient, EventHubConsumerClient, EventData,
                            TransportType)
from common import check, finish, wait_until

wss_port, ca_file, good, wrong, expires_on = sys.argv[1:6]


class StaticCredential:
    """A TokenCredential handing out one token (minted by the test's token service)."""

    def __init__(self, token):
        self.token, self.scopes = token, []

    def get_token(self, *scopes, **kwargs):
        self.scopes.extend(scopes)
        return AccessToken(self.token, int(expires_on))


def clients(credential):
    options = dict(fully_qualified_namespace="localhost", eventhub_name="eh1",
                   credential=credential, transport_type=TransportType.AmqpOverWebsocket,
                   custom_endpoint_address=f"sb://localhost:{wss_port}",
                   connection_verify=ca_file)
    return (EventHubProducerClient(**options),
            EventHubConsumerClient(consumer_group="$Default", **options))


credential = StaticCredential(good)
producer, consumer = clients(credential)
bodies = [f"aad-{i}" for i in range(10)]
with producer:
    batch = producer.create_batch(partition_id="1")
    for body in bodies:
        batch.add(EventData(body))
    producer.send_batch(batch)
got = []
t = threading.Thread(target=lambda: consumer.receive(
    on_event=lambda ctx, e: got.append(e), partition_id="1", starting_position="-1"),
    daemon=True)
t.start()
wait_until(lambda: len(got) >= len(bodies), 30)
consumer.close()
check("sent and received with an Entra ID token", [e.body_as_str() for e in got] == bodies)
check("the SDK asked for the Event Hubs scope",
      any(s.startswith("https://eventhubs.azure.net/") for s in credential.scopes))

producer, _ = clients(StaticCredential(wrong))
refused = None
try:
    with producer:
        producer.send_batch([EventData("never")], partition_id="1")
except Exception as e:  # the SDK wraps the 401 in its own error types
    refused = e
check("a token for another audience is refused", refused is not None)
# The SDK keeps the service's description to itself; the type says it was a 401.
check("the refusal is an authentication error",
      type(refused).__name__ == "AuthenticationError")
finish()
