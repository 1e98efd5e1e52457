// Cross-SDK round trips with our Rust client (bodies as Buffers: the JS SDK would JSON-encode
// strings). `send <cs>`: a fully populated event to
// partition 0 and a keyed event; `receive <cs> <partition> <count>`: prints each received
// event as one JSON line. The Rust test asserts on both sides.
import { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";

const [mode, conn, partition, count] = process.argv.slice(2);
if (mode === "send") {
  const p = new EventHubProducerClient(conn, "eh1");
  await p.sendBatch([{ body: Buffer.from("from-js"), properties: { n: 7, s: "text" }, contentType: "text/plain",
    correlationId: "corr-js", messageId: "mid-js" }], { partitionId: "0" });
  const b = await p.createBatch({ partitionKey: "js-key" });
  b.tryAdd({ body: Buffer.from("keyed-js") });
  await p.sendBatch(b);
  await p.close();
  console.log("ok");
  process.exit(0);
}
const want = Number(count);
const got = [];
const c = new EventHubConsumerClient("$Default", conn, "eh1");
const sub = c.subscribe(partition, { processEvents: async (events) => { got.push(...events); },
  processError: async (err) => { console.error(err.message); } },
  { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
const deadline = Date.now() + 20000;
while (got.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
await sub.close();
await c.close();
for (const e of got) {
  console.log(JSON.stringify({
    body: typeof e.body === "string" ? e.body : Buffer.from(e.body).toString(),
    properties: e.properties ?? {},
    partition_key: e.partitionKey ?? null,
    sequence_number: e.sequenceNumber,
    offset: String(e.offset),
    enqueued_ms: e.enqueuedTimeUtc.getTime(),
    message_id: e.messageId ?? null,
    content_type: e.contentType ?? null,
    correlation_id: e.correlationId ?? null,
  }));
}
console.log(got.length >= want ? "ok" : `FAILED got ${got.length} of ${want}`);
process.exit(got.length >= want ? 0 : 1);
