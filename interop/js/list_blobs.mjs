// Lists a container's blobs with the official storage SDK, one JSON object per line:
// {"name": ..., "metadata": {...}}. Tests use it to see exactly which blob names each
// SDK's checkpoint store wrote.
// Usage: node list_blobs.mjs <storage connection string> <container>
import { ContainerClient } from "@azure/storage-blob";

const [storage, container] = process.argv.slice(2);
const client = new ContainerClient(storage, container);
for await (const blob of client.listBlobsFlat({ includeMetadata: true })) {
  console.log(JSON.stringify({ name: blob.name, metadata: blob.metadata ?? {} }));
}
