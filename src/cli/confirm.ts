/**
 * Asking the technician before something that cannot be undone. On a terminal the
 * question is asked on stderr and only "y"/"yes" goes on; without a terminal (scripts,
 * CI) there is nobody to ask, so the flag that confirms it (`--yes`) is required.
 */
import { createInterface } from 'node:readline/promises';
import { CliError } from './errors.js';

export async function confirmOrRefuse(question: string, confirmedByFlag: boolean, refusal: string): Promise<void> {
  if (confirmedByFlag) return;
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) throw new CliError(refusal);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await prompt.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new CliError('not confirmed; nothing was done');
  } finally {
    prompt.close();
  }
}
