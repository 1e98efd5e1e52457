// The official JS SDK against the emulator: a receiver with ownerLevel 2 steals partition
// 0 from one with ownerLevel 1, which gets the service's disconnect error; a receiver
// without an owner level is then refused. Prints "ok" only if every check passes.
import { EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { check, finish, subscribe, waitUntil } from "./common.mjs";

const conn = process.argv[2];
const producer = new EventHubProducerClient(conn, "eh1");
await producer.sendBatch([0, 1, 2].map((i) => ({ body: `e${i}` })), { partitionId: "0" });

const bodies = (r) => r.events.map((e) => e.body);
const old = subscribe(conn, "0", { ownerLevel: 1, startPosition: earliestEventPosition });
check("ownerLevel 1 receives", await waitUntil(() => old.events.length >= 3) && bodies(old).slice(0, 3).join() === "e0,e1,e2");
const next = subscribe(conn, "0", { ownerLevel: 2, startPosition: earliestEventPosition });
check("ownerLevel 2 receives", await waitUntil(() => next.events.length >= 3) && bodies(next).slice(0, 3).join() === "e0,e1,e2");
check("ownerLevel 1 is disconnected", await waitUntil(() => old.errors.length > 0)
  && old.errors.some((e) => /epoch|stolen|ReceiverDisconnected/i.test(`${e.code} ${e.message}`)));
console.log("old receiver error:", old.errors[0]?.code, old.errors[0]?.message);
await old.close();

const plain = subscribe(conn, "0", { startPosition: earliestEventPosition });
check("receiver without ownerLevel refused", await waitUntil(() => plain.errors.length > 0) && plain.events.length === 0);
console.log("plain receiver error:", plain.errors[0]?.code, plain.errors[0]?.message);
await plain.close();

await producer.sendBatch([{ body: "after" }], { partitionId: "0" });
check("ownerLevel 2 keeps receiving", await waitUntil(() => bodies(next).includes("after")));
await next.close();
await producer.close();
finish();
