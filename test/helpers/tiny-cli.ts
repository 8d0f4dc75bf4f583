// The flags of the smallest real `growbert pretrain` the CLI tests start as child processes (signals,
// Ctrl-C, output-folder safety, the dashboard): one list, so a changed flag name is fixed in one place.
export function tinyModelFlags(cacheDir: string, o: { layers?: number } = {}): string[] {
  return [
    '--data',
    'stdlib:moby-dick',
    '--cache-dir',
    cacheDir,
    '--vocab-size',
    '2000',
    '--hidden',
    '32',
    '--layers',
    String(o.layers ?? 1),
    '--heads',
    '2',
    '--ffn',
    '64',
    '--seq-length',
    '32',
    '--batch-size',
    '8',
  ];
}
