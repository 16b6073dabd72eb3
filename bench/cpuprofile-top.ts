// Summarises V8 .cpuprofile files (from `node --cpu-prof`; one per thread): total sampled time per
// file (thread; V8 numbers the main thread's file ...0.001 and workers after it), then the top
// functions by self time, merged across all given profiles, and self
// time grouped by source file. Usage: node dist/bench/cpuprofile-top.js [--top N] FILE...
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const u = url.replace(/^file:\/\//, '');
  const n = u.indexOf('node_modules/');
  if (n >= 0) return u.slice(n);
  const i = u.indexOf('/dist/');
  if (i >= 0) return u.slice(i + 1);
  return u.startsWith('node:') ? u : path.basename(u);
}

function main(): void {
  const args = process.argv.slice(2);
  let top = 20;
  const ti = args.indexOf('--top');
  if (ti >= 0) {
    top = Number(args[ti + 1]);
    args.splice(ti, 2);
  }
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const perThread: string[] = [];
  for (const file of args) {
    const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    let t = 0;
    let idle = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      const dt = (prof.timeDeltas[i] ?? 0) / 1000; // µs -> ms
      const n = nodes.get(prof.samples[i]!);
      if (!n) continue;
      const cf = n.callFrame;
      const name = cf.functionName || '(anonymous)';
      // piscina parks idle workers in Atomics.wait: V8 samples that as running JS, but it is waiting.
      if (name === '(idle)' || name === 'atomicsWaitLoop') {
        idle += dt;
        continue;
      }
      t += dt;
      const key = `${name}  ${shortUrl(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
      byFn.set(key, (byFn.get(key) ?? 0) + dt);
      const fk = shortUrl(cf.url) || `(${name})`;
      byFile.set(fk, (byFile.get(fk) ?? 0) + dt);
    }
    total += t;
    perThread.push(`| ${path.basename(file)} | ${((prof.endTime - prof.startTime) / 1e6).toFixed(2)} | ${(t / 1000).toFixed(2)} | ${(idle / 1000).toFixed(2)} |`);
  }
  const out: string[] = [];
  out.push('| profile (thread) | span s | busy s | idle or parked s |', '|---|---:|---:|---:|', ...perThread, '');
  out.push(`Top ${top} functions by self time (all threads, ${(total / 1000).toFixed(2)} s busy):`, '');
  out.push('| self ms | % | function  location |', '|---:|---:|---|');
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`| ${v.toFixed(0)} | ${((100 * v) / total).toFixed(1)} | ${k.replace(/\|/g, '\\|')} |`);
  out.push('', 'Self time by source file:', '', '| self ms | % | file |', '|---:|---:|---|');
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`| ${v.toFixed(0)} | ${((100 * v) / total).toFixed(1)} | ${k} |`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
