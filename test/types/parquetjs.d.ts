// parquetjs ships no types; the tests use it only as an independent Parquet writer.
declare module 'parquetjs' {
  /** a column, or a struct (group) of `fields` */
  type ParquetField =
    { type: string; compression?: string; optional?: boolean } | { fields: Record<string, ParquetField> };
  const parquet: {
    ParquetSchema: new (fields: Record<string, ParquetField>) => unknown;
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
