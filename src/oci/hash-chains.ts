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
 * hash into it. The thread that compressed block i offers its bytes to each
 * chain (offer): it hashes them itself when the turn is i, else leaves them
 * for the thread that hands the turn to i, and goes on with its next block
 * instead of waiting. Before a block's slot is used again the main thread
 * makes sure its chains are past it (settle). The three chains are separate,
 * so one thread can hash a block's tar bytes while another hashes the
 * previous block's output.
 *
 * Without the addon (not built, or LADING_DEFLATE=wasm) the main thread hashes
 * as before; the digests are the same either way.
 */
import { createHash } from "node:crypto";
import { LadingError } from "../errors.js";
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
/** A block's pieces of files spread over blocks: the tail of one begun before it, the head of one going on after. */
const MAX_SPREAD = 2;
/** Per slot: the piece count, then (offset in the block, length, flags) a piece. */
const PIECE_INTS = 1 + 3 * MAX_SPREAD;
const RESTART = 1;
const ENDS = 2;
const DIGEST_BYTES = 64;

/** A chain's state, as the block whose turn it is sees it. */
export interface ChainState {
  update(data: Uint8Array): void;
  /** Starts a new digest in this chain (a new file). */
  restart(): void;
  /** The digest so far, hex; the state is spent until restart(). */
  digest(): string;
}

/** A piece of a file spread over blocks, as a block offers it to the FILES chain. */
export interface SpreadPiece {
  /** Offset in the block's input. */
  at: number;
  length: number;
  /** The file's first piece: its digest starts here. */
  first: boolean;
  /** Its last: its digest ends here. */
  last: boolean;
}

/**
 * What a block's job carries about the chains: where they are, which are
 * kept, and where a block's bytes are (the ring of `slots` slots of
 * `slotSize` bytes at the memory's start, each its input, then from
 * `outAt` its output).
 */
export interface ChainsRef {
  at: number;
  /** Which chains this stream keeps (bit 1 << chain). */
  kept: number;
  slots: number;
  slotSize: number;
  outAt: number;
}

export class HashChains {
  /** Bytes a stream's memory must have for them, with `slots` blocks in flight. */
  static bytes(slots: number): number {
    return TURNS_BYTES + CHAINS * STATE_BYTES + 4 * slots * (CHAINS + PIECE_INTS) + slots * DIGEST_BYTES;
  }

  /** Whether the addon is there; without it the main thread hashes. */
  static available(): boolean {
    const sha = nativeSha256();
    return sha !== undefined && sha.stateSize <= STATE_BYTES;
  }

  private readonly turns: Int32Array;
  private readonly states: ChainState[];
  /** Per chain and slot: 1 + the length a block offered to be hashed in its turn by whoever hands it the turn; 0: none. */
  private readonly offered: Int32Array;
  /** Per slot: the spread pieces its block offered to the FILES chain (PIECE_INTS each). */
  private readonly pieces: Int32Array;
  /** Per slot: the digest (hex) of the spread file its block ends, put there by whoever hashed it. */
  private readonly spreadDigests: Uint8Array;
  private readonly memory: SharedArrayBuffer;

  /** `at` (a multiple of 8) is where they are in `memory`; see bytes(). */
  constructor(
    memory: SharedArrayBuffer,
    readonly ref: ChainsRef,
  ) {
    const sha = nativeSha256()!;
    this.memory = memory;
    this.turns = new Int32Array(memory, ref.at, CHAINS);
    this.states = Array.from({ length: CHAINS }, (_, k) => {
      const state = new Uint8Array(memory, ref.at + TURNS_BYTES + k * STATE_BYTES, STATE_BYTES);
      return {
        update: (data) => sha.sha256Update(state, data),
        restart: () => sha.sha256Init(state),
        digest: () => sha.sha256Final(state),
      };
    });
    let at = ref.at + TURNS_BYTES + CHAINS * STATE_BYTES;
    this.offered = new Int32Array(memory, at, CHAINS * ref.slots);
    at += 4 * CHAINS * ref.slots;
    this.pieces = new Int32Array(memory, at, PIECE_INTS * ref.slots);
    at += 4 * PIECE_INTS * ref.slots;
    this.spreadDigests = new Uint8Array(memory, at, DIGEST_BYTES * ref.slots);
  }

  /** The stream's start (main thread, before any block): the kept digests begin, block 0 has every turn. */
  begin(gzipHeader: Uint8Array): void {
    for (let k = 0; k < CHAINS; k++) Atomics.store(this.turns, k, 0);
    this.offered.fill(0);
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
    this.advance(chain, id);
    this.drive(chain, id + 1);
  }

  /**
   * Block `id`'s turn on `chain` without waiting for it: its `length` bytes
   * (of input for IN, of output for OUT; for FILES, `spread`) are hashed by
   * whichever thread gets the turn to it first: this one, if the turn is
   * already there, else the one that hands it on.
   *
   * Why: a thread that waited for its turn sat idle while the thread of the
   * block before (still reading its files, or preempted by the main thread)
   * got there: ~0.1 s of each thread's ~1.1 s on a 197 MB context.
   *
   * Exactly one thread claims an offer (an atomic exchange); the one that
   * hands the turn on looks for the next offer after moving the turn, and
   * the offering one looks at the turn after offering, so an offer made
   * while the turn moves is never left behind.
   */
  offer(chain: Chain, id: number, length: number, spread: readonly SpreadPiece[] = []): void {
    const slot = id % this.ref.slots;
    if (chain === FILES) {
      if (spread.length > MAX_SPREAD) throw new LadingError("INTERNAL", `gzip: a block with ${spread.length} pieces of spread files`);
      const p = slot * PIECE_INTS;
      this.pieces[p] = spread.length;
      spread.forEach((piece, i) => {
        this.pieces[p + 1 + 3 * i] = piece.at;
        this.pieces[p + 2 + 3 * i] = piece.length;
        this.pieces[p + 3 + 3 * i] = (piece.first ? RESTART : 0) | (piece.last ? ENDS : 0);
      });
    }
    Atomics.store(this.offered, chain * this.ref.slots + slot, length + 1);
    this.drive(chain, id);
  }

  /**
   * Makes sure every kept chain is past block `id` (main thread, before the
   * block's slot is used again): hashes what was offered when it gets there
   * first, else waits for the thread hashing it.
   */
  settle(id: number): void {
    for (let chain = 0 as Chain; chain < CHAINS; chain++) {
      if (!this.keeps(chain)) continue;
      for (;;) {
        const turn = Atomics.load(this.turns, chain);
        if (turn === BROKEN || turn > id) break;
        this.drive(chain, turn);
        if (Atomics.load(this.turns, chain) === turn) Atomics.wait(this.turns, chain, turn, WAIT_MS);
      }
    }
  }

  /** The digest of the spread file that block `id` ends (its FILES turn is done: see settle), hex. */
  spreadDigest(id: number): string {
    const at = (id % this.ref.slots) * DIGEST_BYTES;
    return String.fromCharCode(...this.spreadDigests.subarray(at, at + DIGEST_BYTES));
  }

  /** Hashes the blocks offered on `chain` from `id` on, while the turn is theirs and nobody else claimed them. */
  private drive(chain: Chain, id: number): void {
    for (let t = id; ; t++) {
      if (Atomics.load(this.turns, chain) !== t) return;
      const offered = Atomics.exchange(this.offered, chain * this.ref.slots + (t % this.ref.slots), 0);
      if (offered === 0) return;
      this.hashOffered(chain, t, offered - 1);
      this.advance(chain, t);
    }
  }

  private hashOffered(chain: Chain, id: number, length: number): void {
    const slot = id % this.ref.slots;
    const base = slot * this.ref.slotSize;
    const state = this.states[chain]!;
    if (chain === IN) state.update(new Uint8Array(this.memory, base, length));
    else if (chain === OUT) state.update(new Uint8Array(this.memory, base + this.ref.outAt, length));
    else {
      const p = slot * PIECE_INTS;
      for (let i = 0; i < this.pieces[p]!; i++) {
        const flags = this.pieces[p + 3 + 3 * i]!;
        if (flags & RESTART) state.restart();
        state.update(new Uint8Array(this.memory, base + this.pieces[p + 1 + 3 * i]!, this.pieces[p + 2 + 3 * i]!));
        if (flags & ENDS) {
          const hex = state.digest();
          for (let k = 0; k < DIGEST_BYTES; k++) this.spreadDigests[slot * DIGEST_BYTES + k] = hex.charCodeAt(k);
        }
      }
    }
  }

  /** Hands the turn on after block `id`, waking whoever waits for it. */
  private advance(chain: Chain, id: number): void {
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
