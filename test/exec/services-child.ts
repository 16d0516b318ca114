/**
 * A stand-in for a lading process, for the services kill tests: starts a
 * service whose command line holds $SERVICE_MARKER, prints one JSON line
 * `{ helperPid }` (the net helper's pid) once it is healthy, and waits to be killed.
 */
import { connect } from "../../src/index.js";

// The marker comes by environment: in argv it would mark this process too.
const [store, image] = process.argv.slice(2);
const marker = process.env.SERVICE_MARKER!;
const client = await connect({ store: store!, log: (e) => e.type === "debug" && /helper pid (\d+)/.test(e.message) && (helperPid = Number(/helper pid (\d+)/.exec(e.message)![1])) });
let helperPid = 0;
await client
  .container()
  .from(image!)
  .withExposedPort(8080)
  .withExec(["sh", "-c", `httpd -p 8080 -h / && sleep 1000 # ${marker}`])
  .asService()
  .start();
process.stdout.write(JSON.stringify({ helperPid }) + "\n");
setInterval(() => {}, 1000);
