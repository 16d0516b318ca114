/**
 * A step's output kept for its span, bounded: past the limit the oldest
 * text goes (the end of a log says why a step failed), and the span says
 * how much was cut.
 */
export const LOG_LIMIT = 64 * 1024;

export class LogBuffer {
  private text = "";
  private dropped = 0;
  constructor(private readonly limit = LOG_LIMIT) {}

  add(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.limit) {
      const cut = this.text.length - this.limit;
      this.dropped += cut;
      this.text = this.text.slice(cut);
    }
  }

  get empty(): boolean {
    return this.text.length === 0;
  }

  /** The kept text and how many characters before it were dropped. */
  read(): { text: string; dropped: number } {
    return { text: this.text, dropped: this.dropped };
  }
}
