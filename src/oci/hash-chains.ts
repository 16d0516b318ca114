/**
 * A gzip layer's sha256 digests, advanced by the threads that compress its
 * blocks (gzip-blocks.ts) instead of the main thread.
 *
 * Why: a layer has up to three digests over its bytes in order — of the tar
 * (the diff ID), of the gzip stream (the blob), and of each host file spread
 * over several blocks (the content key). On the main thread that was every
 * byte of input hashed two or three times, one block after another: on
 * incompressible data, where the compressing threads only copy, the main
 * thread was what the whole layer waited for.
 *
 * How: each digest is a chain whose sha256 state lives in the stream's shared
 * memory (the native addon, native/lading_sha256.c, hashes with OpenSSL into
 * a state it is handed). A chain has a turn, the id of the next block to
 * hash into it; the thread that compressed block i waits for its turn on
 * each chain, hashes its bytes, and hands the turn to i + 1. The pool starts
 * blocks in order (gzip-pool.ts is first come, first served, and a stream
 * dispatches its blocks in order), so the block waited for is always already
 * on a thread: the waits end. The three chains are taken one after another,
 * so one thread can hash a block's tar bytes while another hashes the
 * previous block's output.
 *
 * Without the addon (not built, or LADING_DEFLATE=wasm) the main thread hashes
 * as before; the digests are the same either way.
 */
import { createHash } from "node:crypto";
import { layerAddon } from "./deflate-native.js";

interface NativeSha256 {
  stateSize: number;
  sha256Init(state: Uint8Array): void;
  sha256Update(state: Uint8Array, data: Uint8Array): void;
  /** The digest, hex; the state is spent. */
  sha256Final(state: Uint8Array): string;
  /** The digest of `data`, hex, in one call. */
  sha256Hex(data: Uint8Array): string;
}

/** The addon, or undefined when digests are to be taken on the main thread. */
function nativeSha256(): NativeSha256 | undefined {
  return layerAddon<NativeSha256>("lading_sha256");
}

/**
 * The sha256 of `data`, hex: by the addon in one call when it is there (a
 * block of small files hashes hundreds, and node:crypto's Hash object and
 * its three calls cost ~2 us each), else by node:crypto.
 */
export function sha256Hex(data: Uint8Array): string {
  const sha = nativeSha256();
  return sha ? sha.sha256Hex(data) : createHash("sha256").update(data).digest("hex");
}

/** The chains, in the order a block's thread takes them. */
export const IN = 0;
export const FILES = 1;
export const OUT = 2;
export type Chain = typeof IN | typeof FILES | typeof OUT;

const CHAINS = 3;
/** A turn handed on by a failed block: every later block skips its hashing (the stream fails anyway). */
const BROKEN = -1;
const STATE_BYTES = 128;
const TURNS_BYTES = 64;
/** How long a thread sleeps between looks at a turn; a wake-up comes with each hand-over, this only bounds a lost one. */
const WAIT_MS = 1000;

/** A chain's state, as the block whose turn it is sees it. */
export interface ChainState {
  update(data: Uint8Array): void;
  /** Starts a new digest in this chain (a new file). */
  restart(): void;
  /** The digest so far, hex; the state is spent until restart(). */
  digest(): string;
}

/** What a block's job carries about the chains: where they are, and which are kept. */
export interface ChainsRef {
  at: number;
  /** Which chains this stream keeps (bit 1 << chain). */
  kept: number;
}

export class HashChains {
  /** Bytes a stream's memory must have for them. */
  static readonly BYTES = TURNS_BYTES + CHAINS * STATE_BYTES;

  /** Whether the addon is there; without it the main thread hashes. */
  static available(): boolean {
    const sha = nativeSha256();
    return sha !== undefined && sha.stateSize <= STATE_BYTES;
  }

  private readonly turns: Int32Array;
  private readonly states: ChainState[];

  /** `at` (a multiple of 8) is where they are in `memory`; see BYTES. */
  constructor(
    memory: SharedArrayBuffer,
    readonly ref: ChainsRef,
  ) {
    const sha = nativeSha256()!;
    this.turns = new Int32Array(memory, ref.at, CHAINS);
    this.states = Array.from({ length: CHAINS }, (_, k) => {
      const state = new Uint8Array(memory, ref.at + TURNS_BYTES + k * STATE_BYTES, STATE_BYTES);
      return {
        update: (data) => sha.sha256Update(state, data),
        restart: () => sha.sha256Init(state),
        digest: () => sha.sha256Final(state),
      };
    });
  }

  /** The stream's start (main thread, before any block): the kept digests begin, block 0 has every turn. */
  begin(gzipHeader: Uint8Array): void {
    for (let k = 0; k < CHAINS; k++) Atomics.store(this.turns, k, 0);
    if (this.keeps(IN)) this.states[IN]!.restart();
    if (this.keeps(OUT)) {
      this.states[OUT]!.restart();
      this.states[OUT]!.update(gzipHeader);
    }
  }

  keeps(chain: Chain): boolean {
    return (this.ref.kept & (1 << chain)) !== 0;
  }

  /**
   * Block `id`'s turn on `chain`: waits for it, runs `hash` (unless an
   * earlier block failed), hands the turn to the next block. A `hash` that
   * throws keeps the turn: its block's caller breaks the chains.
   */
  take(chain: Chain, id: number, hash: (state: ChainState) => void): void {
    for (;;) {
      const turn = Atomics.load(this.turns, chain);
      if (turn === BROKEN) return;
      if (turn === id) break;
      Atomics.wait(this.turns, chain, turn, WAIT_MS);
    }
    hash(this.states[chain]!);
    Atomics.store(this.turns, chain, id + 1);
    Atomics.notify(this.turns, chain);
  }

  /** A block failed: no later block waits for it, and no digest of this stream is given. */
  break(): void {
    for (let k = 0; k < CHAINS; k++) {
      Atomics.store(this.turns, k, BROKEN);
      Atomics.notify(this.turns, k);
    }
  }

  get broken(): boolean {
    return Atomics.load(this.turns, IN) === BROKEN;
  }

  /** The end of a chain whose every block is done (main thread): `tail` hashed last, then the digest, hex. */
  finish(chain: Chain, tail?: Uint8Array): string {
    if (tail) this.states[chain]!.update(tail);
    return this.states[chain]!.digest();
  }
}
