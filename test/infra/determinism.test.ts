/**
 * Synth is deterministic: two synths of the whole app produce byte-identical
 * cloud assemblies (templates, manifests, metadata), so a diff between
 * releases shows real changes only. No asset hash needs masking: the app has
 * no file assets (the one function's code is inline in the template).
 */
import * as path from 'node:path';
import { readTree, synthesize } from './synth';

describe('synth', () => {
  it('writes byte-identical assemblies twice in a row', () => {
    // From one call site: construct metadata records where constructs were
    // created, and the CLI always creates them from bin/app.ts.
    const [first, second] = [1, 2].map(() => synthesize());
    const a = readTree(first.outdir);
    const b = readTree(second.outdir);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    const templates = [...a.keys()].filter((f) => f.endsWith('.template.json'));
    expect(templates).toHaveLength(3);
    const differing = [...a.keys()].filter((file) => !a.get(file)!.equals(b.get(file)!));
    expect(differing).toEqual([]);
    // Nothing in the assembly names the directory it was written to.
    for (const [file, content] of a) {
      expect({ file, mentionsOutdir: content.includes(first.outdir) }).toEqual({ file, mentionsOutdir: false });
    }
    // And no file assets that could carry a build-dependent hash: each stack's
    // asset manifest lists its template only.
    for (const file of [...a.keys()].filter((f) => f.endsWith('.assets.json'))) {
      const assets = Object.values(JSON.parse(a.get(file)!.toString()).files) as { source: { path: string } }[];
      expect(assets.map((asset) => asset.source.path)).toEqual([path.basename(file).replace('.assets.json', '.template.json')]);
    }
  });
});
