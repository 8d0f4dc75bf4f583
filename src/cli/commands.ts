// The list of commands. Adding a command = one file under src/cli/ and one line here.
import type { Command } from 'commander';
import { registerDemo } from './demo.js';

export function registerCommands(program: Command): void {
  registerDemo(program);
}
