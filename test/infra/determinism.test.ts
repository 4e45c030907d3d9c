/**
 * Synth is deterministic: two synths of the whole app produce byte-identical
 * cloud assemblies (templates, manifests, metadata, and the esbuild bundles of
 * the migration function and the Provider framework), so a diff between
 * releases shows real changes only. The first is the run's shared synth.
 */
import * as path from 'node:path';
import { readTree, synthesize, synthesizedApp } from './synth';

/**
 * Metadata records stack traces (where each stack was created, where each acknowledgement was made), which end
 * in whichever test asked for the synth (the CLI always synthesizes from bin/app.ts); those traces are left out
 * of the comparison, nothing else.
 */
function withoutTraces(file: string, content: Buffer): Buffer {
  if (!file.endsWith('.metadata.json') && !file.endsWith('validation-report.json')) return content;
  const isTrace = (key: string, value: unknown) =>
    /^(trace|stackTraces|acknowledgedStackTrace)$/.test(key) || (value as { type?: unknown } | null)?.type === 'aws:cdk:creationStack';
  return Buffer.from(JSON.stringify(JSON.parse(content.toString()), (key, value) => (isTrace(key, value) ? undefined : value)));
}

describe('synth', () => {
  it('writes byte-identical assemblies twice in a row', async () => {
    // The run's shared synth, and one more.
    const first = await synthesizedApp();
    const second = synthesize();
    const a = readTree(first.outdir);
    const b = readTree(second.outdir);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    const templates = [...a.keys()].filter((f) => f.endsWith('.template.json'));
    // Two stacks per stage: the stateful one and the data tier.
    expect(templates).toHaveLength(6);
    const differing = [...a.keys()].filter((file) => !withoutTraces(file, a.get(file)!).equals(withoutTraces(file, b.get(file)!)));
    expect(differing).toEqual([]);
    // Nothing in the assembly names the directory it was written to.
    for (const [file, content] of a) {
      expect({ file, mentionsOutdir: content.includes(first.outdir) }).toEqual({ file, mentionsOutdir: false });
    }
    // File assets: each stack's template and code bundles named by their content hash (whose bytes the tree
    // comparison above has already proved identical).
    for (const file of [...a.keys()].filter((f) => f.endsWith('.assets.json'))) {
      const assets = Object.values(JSON.parse(a.get(file)!.toString()).files) as { source: { path: string } }[];
      const template = path.basename(file).replace('.assets.json', '.template.json');
      const paths = assets.map((asset) => asset.source.path);
      expect(paths).toContain(template);
      for (const other of paths.filter((p) => p !== template)) expect(other).toMatch(/^\.\.\/asset\.[0-9a-f]{64}$/);
    }
  });
});
