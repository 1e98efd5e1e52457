// Benchmark peer: the official JS SDK doing one row of the client benchmark against an
// emulator. `bench.mjs <cs> batched|single|receive <events>`; prints `RESULT <events> <seconds> <cpu seconds>`,
// where <events> counts the events actually acknowledged (sends) or received, which the
// caller checks against what the emulator stored.
// Same work as interop/python/bench.py.
import { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";

const [conn, mode, count] = process.argv.slice(2);
const n = Number(count);
const body = Buffer.alloc(100, "x");
let elapsed;
let done = 0; // acknowledged by the service (sends) or received
const cpu0 = process.cpuUsage();
if (mode === "batched" || mode === "single") {
  const p = new EventHubProducerClient(conn, "eh1");
  await p.getPartitionIds();
  const start = performance.now();
  if (mode === "batched") {
    await Promise.all(Array.from({ length: 8 }, async (_, t) => {
      for (let i = 0; i < Math.floor(n / 100 / 8); i++) {
        const b = await p.createBatch({ partitionId: String(t % 2) });
        for (let j = 0; j < 100; j++) b.tryAdd({ body });
        await p.sendBatch(b);
        done += b.count;
      }
    }));
  } else {
    const perTask = Math.floor(n / 256);
    await Promise.all(Array.from({ length: 256 }, async () => {
      for (let i = 0; i < perTask; i++) {
        await p.sendBatch([{ body }], { partitionId: "2" });
        done += 1;
      }
    }));
  }
  elapsed = (performance.now() - start) / 1000;
  await p.close();
} else {
  const c = new EventHubConsumerClient("$Default", conn, "eh1");
  let got = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const sub = c.subscribe("1", {
      processEvents: async (events) => { got += events.length; if (got >= n) { resolve(); } },
      processError: async () => {},
    }, { startPosition: earliestEventPosition, maxBatchSize: 1000, prefetchCount: 3000 });
    c._sub = sub;
  });
  elapsed = (performance.now() - start) / 1000;
  done = got;
  await c._sub.close();
  await c.close();
}
const cpu = process.cpuUsage(cpu0);
console.log(`RESULT ${done} ${elapsed.toFixed(6)} ${((cpu.user + cpu.system) / 1e6).toFixed(6)}`);
process.exit(0);
