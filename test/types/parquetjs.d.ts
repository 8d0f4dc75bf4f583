// parquetjs ships no types; the tests use it only as an independent Parquet writer.
declare module 'parquetjs' {
  const parquet: {
    ParquetSchema: new (fields: Record<string, { type: string; compression?: string; optional?: boolean }>) => unknown;
    ParquetWriter: {
      openFile(
        schema: unknown,
        file: string,
        opts?: { rowGroupSize?: number },
      ): Promise<{
        appendRow(row: Record<string, unknown>): Promise<void>;
        close(): Promise<void>;
      }>;
    };
  };
  export default parquet;
}
