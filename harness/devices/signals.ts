// Signals between models, outside the register interface: DMA request lines, interrupt lines,
// pins. Models stay plain classes; a board connects them.

/** DMA request line bits a peripheral drives (PL080 TRM 2.2: DMACSREQ, DMACBREQ, DMACLSREQ,
 * DMACLBREQ; PL011 TRM 2.7 and PL022 TRM 2.x name their own copies of the same four). */
export const DMA_SREQ = 1;
export const DMA_BREQ = 2;
export const DMA_LSREQ = 4;
export const DMA_LBREQ = 8;

export type DmaDirection = "tx" | "rx";

/** A peripheral with DMA request lines. 'tx' requests ask for data to be written to the
 * peripheral (memory to peripheral); 'rx' requests offer data to be read from it. */
export interface DmaRequester {
  /** The request lines now asserted for a direction, as DMA_* bits (0 when none). */
  dmaRequests(direction: DmaDirection): number;
  /** The controller's clear (DMACCLR): the requested transfer is done. */
  dmaClear?(direction: DmaDirection): void;
}

/** A level-sensitive interrupt output. */
export interface InterruptSource {
  /** True while the combined interrupt line is asserted. */
  interruptPending(): boolean;
  /** The asserted sources as a short text for messages (`MIS 0x040 (RT)`), no side effects. */
  describeInterrupt?(): string;
}

/** Called when a pin's level changes. */
export type PinListener = (pin: number, level: boolean) => void;
