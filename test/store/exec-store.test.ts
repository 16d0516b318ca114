import { after } from "node:test";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { tempDir } from "../helpers/tmp.js";
import { execStoreConformance } from "./exec-store-conformance.js";

const t = tempDir("lading-execstore-");
after(t.cleanup);
let n = 0;

execStoreConformance("the store", () => Store.open(join(t.path, `s${n++}`)));
