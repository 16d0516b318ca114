/**
 * The part of the WebAssembly JS API that deflate-wasm.ts uses. Node has
 * it as a global; TypeScript declares it only in its DOM and web-worker
 * libraries, which do not belong in a Node program's types.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
