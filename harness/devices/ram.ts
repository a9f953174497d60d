// Memory behind a bus region: plain RAM for buffers a DMA controller copies between, and a view of
// the module's own linear memory for a board that maps it at a physical address, so that a DMA
// master reaches the driver's buffers and linked-list items. Both are little-endian and take
// byte, halfword and word accesses (the bus has already checked alignment and bounds).
import type { Device } from "../bus.js";

/** RAM of a fixed size, zero-filled unless given its bytes. */
export class Ram implements Device {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  /** `contents`: a size in bytes, or the bytes themselves (kept, not copied). */
  constructor(contents: number | Uint8Array) {
    this.bytes = typeof contents === "number" ? new Uint8Array(contents) : contents;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  get size(): number {
    return this.bytes.byteLength;
  }

  read(offset: number, width: number): number {
    return readLittleEndian(this.view, offset, width);
  }

  write(offset: number, value: number, width: number): void {
    writeLittleEndian(this.view, offset, value, width);
  }
}

/**
 * The module's linear memory as a bus device: offset 0 of the region is offset 0 of linear memory.
 * `buffer` is called on every access (`() => hal.memory.buffer`) and the view is rebuilt when it
 * returns a new ArrayBuffer, because WebAssembly replaces the buffer when memory grows.
 * `onWrite`, when given, is told of every write before it is made: the fuzz world puts back only
 * the bytes of linear memory something wrote (harness/fuzz/world.ts markWritten).
 */
export class LinearMemoryRam implements Device {
  private cached: ArrayBuffer | undefined;
  private view: DataView | undefined;

  constructor(private readonly buffer: () => ArrayBuffer, private readonly onWrite?: (offset: number, width: number) => void) {}

  /** Bytes of linear memory now. */
  get size(): number {
    return this.current().byteLength;
  }

  read(offset: number, width: number): number {
    const view = this.current();
    this.checkInside(view, offset, width);
    return readLittleEndian(view, offset, width);
  }

  write(offset: number, value: number, width: number): void {
    const view = this.current();
    this.checkInside(view, offset, width);
    this.onWrite?.(offset, width);
    writeLittleEndian(view, offset, value, width);
  }

  private current(): DataView {
    const buffer = this.buffer();
    if (buffer !== this.cached || this.view === undefined) {
      this.cached = buffer;
      this.view = new DataView(buffer);
    }
    return this.view;
  }

  /** A region mapped larger than linear memory is a board error, never silently answered. */
  private checkInside(view: DataView, offset: number, width: number): void {
    if (offset + width > view.byteLength) {
      throw new RangeError(`linear memory offset 0x${offset.toString(16)} (+${width}) lies beyond its ${view.byteLength} bytes: the region is mapped larger than the memory`);
    }
  }
}

function readLittleEndian(view: DataView, offset: number, width: number): number {
  if (width === 4) return view.getUint32(offset, true);
  if (width === 2) return view.getUint16(offset, true);
  return view.getUint8(offset);
}

function writeLittleEndian(view: DataView, offset: number, value: number, width: number): void {
  if (width === 4) view.setUint32(offset, value >>> 0, true);
  else if (width === 2) view.setUint16(offset, value & 0xffff, true);
  else view.setUint8(offset, value & 0xff);
}
