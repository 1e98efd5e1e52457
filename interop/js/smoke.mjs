// The official JS SDK against the emulator: properties, a keyed batch, a partition event,
// and receiving them from earliest with bodies and sequence numbers checked. Prints "ok".
import { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";

const conn = process.argv[2];
const failures = [];
const check = (name, cond) => { console.log(`${cond ? "PASS" : "FAIL"} ${name}`); if (!cond) failures.push(name); };

const producer = new EventHubProducerClient(conn, "eh1");
const props = await producer.getEventHubProperties();
check("partition ids", JSON.stringify(props.partitionIds) === JSON.stringify(["0", "1", "2", "3"]));
const batch = await producer.createBatch({ partitionKey: "js-key" });
for (let i = 0; i < 5; i++) batch.tryAdd({ body: `js ${i}`, properties: { n: i } });
await producer.sendBatch(batch);
await producer.sendBatch([{ body: { hello: "json" } }], { partitionId: "3" });
const p3 = await producer.getPartitionProperties("3");
check("partition 3 not empty", p3.isEmpty === false && p3.lastEnqueuedSequenceNumber >= 0);
await producer.close();

const consumer = new EventHubConsumerClient("$Default", conn, "eh1");
const got = [];
const sub = consumer.subscribe(
  { processEvents: async (events, ctx) => { for (const e of events) got.push([ctx.partitionId, e.body, e.sequenceNumber, e.partitionKey, e.properties]); },
    processError: async (err) => { console.log("error", err.message); } },
  { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
const deadline = Date.now() + 15000;
while (got.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
await sub.close();
await consumer.close();
const keyed = got.filter((g) => g[3] === "js-key").sort((a, b) => a[2] - b[2]);
check("keyed batch in order", JSON.stringify(keyed.map((g) => g[1])) === JSON.stringify(["js 0", "js 1", "js 2", "js 3", "js 4"]));
check("sequence numbers", JSON.stringify(keyed.map((g) => g[2])) === JSON.stringify([0, 1, 2, 3, 4]));
check("application properties", keyed.every((g, i) => g[4] && g[4].n === i));
check("json body on partition 3", got.some((g) => g[0] === "3" && g[1] && g[1].hello === "json"));
console.log(failures.length ? `FAILED ${failures}` : "ok");
process.exit(failures.length ? 1 : 0);
