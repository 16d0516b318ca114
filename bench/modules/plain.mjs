// The plain script `lading call -m fixtures/modules/ci notes --text T` is measured against:
// the same function body (ci/pipeline.ts, Pipeline.notes) written against the API, printing the same digest.
import { connect } from "../../dist/src/index.js";

const text = process.argv[2] ?? "bench";
await connect(async (client) => {
  process.stdout.write((await client.directory().withNewFile("notes.txt", text).digest()) + "\n");
});
