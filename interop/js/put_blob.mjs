// Writes one zero-length blob with metadata, as another SDK's checkpoint store would (the
// .NET one writes `offset` as "" when it has only a sequence number), with the official
// storage SDK. Usage: node put_blob.mjs <storage connection string> <container> <name> <metadata JSON>
import { ContainerClient } from "@azure/storage-blob";

const [conn, container, name, metadata] = process.argv.slice(2);
const client = new ContainerClient(conn, container);
await client.createIfNotExists();
await client.getBlockBlobClient(name).upload("", 0, { metadata: JSON.parse(metadata) });
console.log("ok");
