// `--text-field` names where a record's text is: a top-level field (`text`), or a dotted path into
// nested objects (`meta.text`: a Parquet struct column, a JSON object). A field whose own name
// has dots is taken as it is first, so a flat `meta.text` column still reads. Only a record's own
// fields count: `--text-field constructor` on a record without one is absent, not Object's
// constructor function.

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The value at `field` in `row`: the literal key if present, else the dotted path; undefined when
 * a field on the way is absent, null when it is null (a missing value, as in a Parquet null).
 */
export function fieldValue(row: unknown, field: string): unknown {
  if (!row || typeof row !== 'object') return undefined;
  if (own(row, field)) return (row as Record<string, unknown>)[field];
  let v: unknown = row;
  for (const key of field.split('.')) {
    if (v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v) || !own(v, key)) return undefined;
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
