// The README's Quickstart as the end-to-end test runs it: the fenced code blocks marked with
// <!-- quickstart-NAME:begin --> … <!-- quickstart-NAME:end -->, read from the file at test time
// so that what CI runs is what a reader copies.
import { readFileSync } from 'node:fs';

export interface CodeBlock {
  /** The fence's info string: sh, yaml. */
  readonly lang: string;
  readonly code: string;
}

/** The one fenced code block between the markers of `name` in `markdown`; throws if not exactly one. */
export function markedBlock(markdown: string, name: string): CodeBlock {
  const begin = `<!-- quickstart-${name}:begin -->`;
  const end = `<!-- quickstart-${name}:end -->`;
  const from = markdown.indexOf(begin);
  const to = markdown.indexOf(end);
  if (from < 0 || to < from)
    throw new Error(`README.md has no ${begin} … ${end} section (the Quickstart the e2e test runs)`);
  if (markdown.indexOf(begin, from + 1) >= 0) throw new Error(`README.md has ${begin} twice`);
  const inner = markdown.slice(from + begin.length, to);
  const fences = [...inner.matchAll(/^```([\w-]*)\n([\s\S]*?)^```$/gm)];
  if (fences.length !== 1)
    throw new Error(
      `README.md's quickstart-${name} section should hold one code block, holds ${fences.length}`,
    );
  const [, lang = '', code = ''] = fences[0] ?? [];
  return { lang, code };
}

export function readmeBlock(readmePath: string, name: string): CodeBlock {
  return markedBlock(readFileSync(readmePath, 'utf8'), name);
}

/** A shell block's commands, one per entry: `\` continuations joined, comments after `  #` cut. */
export function shellCommands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
