/**
 * A stand-in for a lading process, for the services kill tests: starts a
 * service whose command line holds $SERVICE_MARKER, prints one JSON line
 * `{ helperPid, outboundPid }` (the net helper's and slirp4netns's pids)
 * once it is healthy, and waits to be killed.
 */
import { connect } from "../../src/index.js";

// The marker comes by environment: in argv it would mark this process too.
const [store, image] = process.argv.slice(2);
const marker = process.env.SERVICE_MARKER!;
const client = await connect({
  store: store!,
  log: (e) => {
    if (e.type !== "debug") return;
    helperPid = Number(/helper pid (\d+)/.exec(e.message)?.[1] ?? helperPid);
    outboundPid = Number(/slirp4netns pid (\d+)/.exec(e.message)?.[1] ?? outboundPid);
  },
});
let helperPid = 0;
let outboundPid = 0;
await client
  .container()
  .from(image!)
  .withExposedPort(8080)
  .withExec(["sh", "-c", `httpd -p 8080 -h / && sleep 1000 # ${marker}`])
  .asService()
  .start();
process.stdout.write(JSON.stringify({ helperPid, outboundPid }) + "\n");
setInterval(() => {}, 1000);
