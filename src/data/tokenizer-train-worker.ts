/**
 * Child-process entry for `learnWordPieceVocab`: `node tokenizer-train-worker.js corpus.txt out.json`.
 * Runs the binding's trainer (which prints to stdout from Rust, hence the separate process) and
 * writes the learned tokens in id order as a JSON array.
 */
import * as fs from 'node:fs';
import { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer } from 'tokenizers';

const [corpus, out] = process.argv.slice(2);
if (!corpus || !out) {
  process.stderr.write('usage: tokenizer-train-worker.js corpus.txt out.json\n');
  process.exit(2);
}
const tk = new Tokenizer(WordPiece.empty());
// Uncased BERT: lowercase + strip accents, clean control characters, split CJK characters.
tk.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
tk.setPreTokenizer(bertPreTokenizer());
tk.train([corpus]);
const tokens = Object.entries(tk.getVocab(false))
  .sort((a, b) => a[1] - b[1])
  .map(([t]) => t);
fs.writeFileSync(out, JSON.stringify(tokens));
