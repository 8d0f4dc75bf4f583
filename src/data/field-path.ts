// `--text-field` names where a record's text is: a top-level field (`text`), or a dotted path into
// nested objects (`meta.text`: a Parquet struct column, a JSON object). A field whose own name
// has dots is taken as it is first, so a flat `meta.text` column still reads.

/** The value at `field` in `row`: the literal key if present, else the dotted path (undefined when absent). */
export function fieldValue(row: unknown, field: string): unknown {
  if (!row || typeof row !== 'object') return undefined;
  const obj = row as Record<string, unknown>;
  if (field in obj) return obj[field];
  let v: unknown = obj;
  for (const key of field.split('.')) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The top-level column that holds `field` among `columns` (undefined when none does). */
export function topColumn(columns: readonly string[], field: string): string | undefined {
  if (columns.includes(field)) return field;
  const head = field.split('.')[0]!;
  return field.includes('.') && columns.includes(head) ? head : undefined;
}
