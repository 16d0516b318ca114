#!/usr/bin/env node
// Kept tiny: startup time is a feature (`lading --version` well under 150 ms).
import "../dist/src/cli/main.js";
