// The few protocol-buffer encodings that TensorBoard event files need (varints, 32- and 64-bit
// floats, length-delimited bytes and nested messages), written by hand: a schema compiler and
// runtime would be larger than the five messages we write (see tf-events.ts).
// Wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit.

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private rawVarint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`protobuf varint: ${n} is not a non-negative safe integer`);
    const bytes: number[] = [];
    // Arithmetic rather than bit operators: those truncate to 32 bits, and steps can be larger.
    while (n >= 0x80) {
      bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    bytes.push(n);
    this.push(Uint8Array.from(bytes));
  }

  private key(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  /** int32/int64/uint64/enum/bool field (non-negative values only). */
  varint(field: number, n: number): this {
    this.key(field, 0);
    this.rawVarint(n);
    return this;
  }

  /** `double` field. */
  double(field: number, x: number): this {
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    this.push(b);
    return this;
  }

  /** `float` field (rounded to 32 bits). */
  float(field: number, x: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(x);
    this.push(b);
    return this;
  }

  /** `bytes` field. */
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.rawVarint(data.length);
    this.push(data);
    return this;
  }

  /** `string` field (UTF-8). */
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** Embedded message field. */
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks, this.size);
  }
}
