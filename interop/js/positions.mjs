// The official JS SDK against the emulator: a wrong SAS key is rejected; receiving from
// earliest, latest, a sequence number, an offset and an enqueued time (each inclusive and
// exclusive) starts at the right event. Prints "ok" only if every check passes.
import { EventHubProducerClient, earliestEventPosition, latestEventPosition } from "@azure/event-hubs";
import { check, finish, firstEvent, sleep, subscribe, waitUntil } from "./common.mjs";

const conn = process.argv[2];

const bad = new EventHubProducerClient(conn.replace("SharedAccessKey=SAS_KEY_VALUE", "SharedAccessKey=wrong"), "eh1",
  { retryOptions: { maxRetries: 0, timeoutInMs: 5000 } });
try {
  await bad.sendBatch([{ body: "never" }], { partitionId: "1" });
  check("wrong key rejected", false);
} catch (e) {
  check(`wrong key rejected (${e.code ?? e.name})`, /unauthori[sz]ed|401|auth/i.test(`${e.code} ${e.message}`));
}
await bad.close();

const producer = new EventHubProducerClient(conn, "eh1");
await producer.sendBatch(Array.from({ length: 10 }, (_, i) => ({ body: `p1-${i}` })), { partitionId: "1" });
// Three events sent apart, each with its own enqueued time.
for (let i = 0; i < 3; i++) { await producer.sendBatch([{ body: `t-${i}` }], { partitionId: "1" }); await sleep(50); }
const info = await producer.getPartitionProperties("1");
check("partition properties", info.lastEnqueuedSequenceNumber === 12 && info.isEmpty === false && info.beginningSequenceNumber === 0);

const body = (e) => e?.body;
let e = await firstEvent(conn, earliestEventPosition);
check("earliest", e?.sequenceNumber === 0 && body(e) === "p1-0");
e = await firstEvent(conn, { sequenceNumber: 4, isInclusive: true });
check("sequence number inclusive", e?.sequenceNumber === 4 && body(e) === "p1-4");
e = await firstEvent(conn, { sequenceNumber: 4 });
check("sequence number exclusive", e?.sequenceNumber === 5 && body(e) === "p1-5");
const e6 = await firstEvent(conn, { sequenceNumber: 6, isInclusive: true });
e = await firstEvent(conn, { offset: e6.offset, isInclusive: true });
check("offset inclusive", e?.sequenceNumber === 6);
e = await firstEvent(conn, { offset: e6.offset });
check("offset exclusive", e?.sequenceNumber === 7);
const t1 = await firstEvent(conn, { sequenceNumber: 11, isInclusive: true });
check("event t-1 found", body(t1) === "t-1");
// The JS SDK always sends `>` for enqueued time (it ignores isInclusive there, docs/PROTOCOL.md
// §6), so "at or after T" is asked as "after T - 1 ms".
e = await firstEvent(conn, { enqueuedOn: t1.enqueuedTimeUtc.getTime() - 1, isInclusive: true });
check("enqueued time inclusive (as > T-1ms)", body(e) === "t-1");
e = await firstEvent(conn, { enqueuedOn: t1.enqueuedTimeUtc });
check("enqueued time exclusive", body(e) === "t-2");

const latest = subscribe(conn, "1", { startPosition: latestEventPosition });
await sleep(2000);
await producer.sendBatch([{ body: "after" }], { partitionId: "1" });
await waitUntil(() => latest.events.length > 0, 10000);
await sleep(300);
await latest.close();
check("latest", latest.events.length === 1 && body(latest.events[0]) === "after" && latest.events[0].sequenceNumber === 13);
await producer.close();
finish();
