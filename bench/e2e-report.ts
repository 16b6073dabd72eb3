// Turns the measurements of bench/e2e.sh or bench/many-files.sh (results.tsv + meta.json + the
// per-step logs) into a markdown report: step x tool table, ratios ours/restic and ours/borg, the
// issue's bars with met/missed, and what each tool says it did.
// Usage: node dist/bench/e2e-report.js --work DIR --kind e2e|many [--out FILE]
import fs from 'node:fs';
import path from 'node:path';

interface Row {
  step: string;
  tool: string;
  wall: number;
  user: number;
  sys: number;
  rssKb: number;
  repoBytes: number | null;
  rc: number;
  /** CPU seconds the rest of the machine used during the step (NaN in old files). */
  otherCpu: number;
}

const MiB = 1024 * 1024;

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : dflt;
  if (v === undefined) throw new Error(`missing ${name}`);
  return v;
}

function readRows(file: string): Row[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [step, tool, wall, user, sys, rss, repo, rc, other] = l.split('\t');
      return {
        step: step!,
        tool: tool!,
        wall: Number(wall),
        user: Number(user),
        sys: Number(sys),
        rssKb: Number(rss),
        repoBytes: repo === '' || repo === undefined ? null : Number(repo),
        rc: Number(rc),
        otherCpu: other === undefined ? NaN : Number(other),
      };
    });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const f1 = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
const mib = (b: number | null): string => (b === null ? '-' : f1(b / MiB));

function readJsonLines(file: string): unknown[] {
  if (!fs.existsSync(file)) return [];
  const out: unknown[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      /* progress noise */
    }
  }
  return out;
}

function readJsonDoc(file: string): Record<string, unknown> | null {
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function errTail(file: string, lines = 15): string {
  if (!fs.existsSync(file)) return '';
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function main(): void {
  const work = arg('--work');
  const kind = arg('--kind', 'e2e');
  const out = arg('--out', path.join(work, `${kind}-results.md`));
  const rows = readRows(path.join(work, 'results.tsv'));
  const meta = readJsonDoc(path.join(work, 'meta.json')) ?? {};
  const logs = path.join(work, 'logs');
  const md: string[] = [];
  const get = (step: string, tool: string): Row | undefined => rows.find((r) => r.step === step && r.tool === tool);
  const ok = (r: Row | undefined): r is Row => r !== undefined && r.rc === 0;
  const cpu = (r: Row): number => r.user + r.sys;

  md.push(`# ${kind === 'e2e' ? 'End-to-end' : 'Many small files'} benchmark, ${String(meta.date ?? '')}`, '');
  for (const [k, v] of Object.entries(meta)) if (k !== 'date') md.push(`- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  md.push('');

  const steps = [...new Set(rows.filter((r) => r.tool !== 'find').map((r) => r.step))];
  const tools = [...new Set(rows.filter((r) => r.tool !== 'find').map((r) => r.tool))];
  md.push('| step | tool | wall s | CPU s (user+sys) | peak RSS MiB | repo MiB | exit | others\' CPU s |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const step of steps) {
    for (const tool of tools) {
      const r = get(step, tool);
      if (!r) continue;
      md.push(`| ${step} | ${tool} | ${f1(r.wall, 2)} | ${f1(cpu(r), 2)} | ${f1(r.rssKb / 1024)} | ${mib(r.repoBytes)} | ${r.rc} | ${f1(r.otherCpu, 1)} |`);
    }
  }
  const finds = rows.filter((r) => r.tool === 'find' && r.rc === 0);
  const findWall = finds.length ? median(finds.map((r) => r.wall)) : NaN;
  if (finds.length) md.push(`| find -printf (median of ${finds.length}) | find | ${f1(findWall, 2)} | ${f1(median(finds.map(cpu)), 2)} | ${f1(median(finds.map((r) => r.rssKb)) / 1024)} | - | 0 | ${f1(median(finds.map((r) => r.otherCpu)), 1)} |`);
  md.push(
    '',
    "others' CPU s: CPU time used by everything else on the machine during the step (/proc/stat minus the command's own user+sys); near 0 means the step ran alone.",
    '',
  );

  const others = tools.filter((t) => t !== 'ours');
  if (tools.includes('ours') && others.length) {
    const head = ['step'];
    for (const m of ['wall', 'CPU', 'peak RSS', 'repo']) for (const t of others) head.push(`${m} ours/${t}`);
    md.push(`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`);
    for (const step of steps) {
      const o = get(step, 'ours');
      const cells = [step];
      for (const m of ['wall', 'cpu', 'rss', 'repo'] as const) {
        for (const t of others) {
          const r = get(step, t);
          if (!ok(o) || !ok(r)) {
            cells.push('-');
            continue;
          }
          const v = m === 'wall' ? o.wall / r.wall : m === 'cpu' ? cpu(o) / cpu(r) : m === 'rss' ? o.rssKb / r.rssKb : (o.repoBytes ?? NaN) / (r.repoBytes ?? NaN);
          cells.push(`${f1(v, 2)}x`);
        }
      }
      md.push(`| ${cells.join(' | ')} |`);
    }
    md.push('');
  }

  // The bars (on snapshots: a restore step is in the tables above only).
  const bars: [string, string, boolean | null][] = [];
  const verdict = (x: boolean | null): string => (x === null ? 'n/a (a run failed)' : x ? '**met**' : '**MISSED**');
  if (kind === 'e2e') {
    const o1 = get('first', 'ours');
    const r1 = get('first', 'restic');
    const b1 = get('first', 'borg');
    const o0 = get('nochange', 'ours');
    const r0 = get('nochange', 'restic');
    const oc = get('churn', 'ours');
    const rc = get('churn', 'restic');
    if (ok(o1) && ok(r1)) {
      bars.push([`first snapshot wall <= 0.6x restic`, `${f1(o1.wall, 2)} s vs ${f1(r1.wall, 2)} s = ${f1(o1.wall / r1.wall, 2)}x`, o1.wall <= 0.6 * r1.wall]);
      bars.push([`first snapshot repo <= restic's`, `${mib(o1.repoBytes)} MiB vs ${mib(r1.repoBytes)} MiB = ${f1((o1.repoBytes ?? 0) / (r1.repoBytes ?? 1), 3)}x`, (o1.repoBytes ?? Infinity) <= (r1.repoBytes ?? 0)]);
    } else bars.push(['first snapshot vs restic', '-', null]);
    if (ok(o0) && ok(r0)) bars.push([`no-change wall <= 0.25x restic`, `${f1(o0.wall, 2)} s vs ${f1(r0.wall, 2)} s = ${f1(o0.wall / r0.wall, 2)}x`, o0.wall <= 0.25 * r0.wall]);
    else bars.push(['no-change vs restic', '-', null]);
    if (ok(o0) && Number.isFinite(findWall)) bars.push([`no-change wall <= 5x find`, `${f1(o0.wall, 2)} s vs ${f1(findWall, 2)} s = ${f1(o0.wall / findWall, 1)}x`, o0.wall <= 5 * findWall]);
    if (ok(oc) && ok(rc)) bars.push([`churn wall <= 0.4x restic`, `${f1(oc.wall, 2)} s vs ${f1(rc.wall, 2)} s = ${f1(oc.wall / rc.wall, 2)}x`, oc.wall <= 0.4 * rc.wall]);
    else bars.push(['churn vs restic', '-', null]);
    for (const step of steps.filter((s) => s !== 'restore')) {
      const o = get(step, 'ours');
      const b = get(step, 'borg');
      if (ok(o) && ok(b)) bars.push([`${step}: peak RSS <= borg's`, `${f1(o.rssKb / 1024)} MiB vs ${f1(b.rssKb / 1024)} MiB = ${f1(o.rssKb / b.rssKb, 2)}x`, o.rssKb <= b.rssKb]);
    }
    void b1;
  } else {
    for (const step of steps.filter((s) => s !== 'restore')) {
      const o = get(step, 'ours');
      if (o) bars.push([`${step}: peak RSS <= 256 MiB`, `${f1(o.rssKb / 1024)} MiB`, o.rc === 0 ? o.rssKb <= 256 * 1024 : null]);
    }
  }
  md.push('| bar | measured | verdict |', '|---|---|---|');
  for (const [name, value, v] of bars) md.push(`| ${name} | ${value} | ${verdict(v)} |`);
  md.push('');

  // What each tool reports about its own run.
  md.push('What each tool reported:', '');
  for (const step of steps) {
    for (const tool of tools) {
      const base = path.join(logs, `${step}-${tool}`);
      const r = get(step, tool);
      if (r && r.rc !== 0) {
        md.push(`- ${step} ${tool}: FAILED (exit ${r.rc}); stderr tail:`, '', '```', errTail(`${base}.err`), errTail(`${base}.time`, 3), '```', '');
        continue;
      }
      if (tool === 'ours') {
        const j = readJsonLines(`${base}.out`).at(-1) as Record<string, unknown> | undefined;
        if (j) md.push(`- ${step} ours: files=${j.files} dirs=${j.dirs} files_read=${j.files_read} bytes_scanned=${mib(Number(j.bytes_scanned))} MiB bytes_added=${mib(Number(j.bytes_added))} MiB warnings=${(j.warnings as unknown[] | undefined)?.length ?? 0}`);
      } else if (tool === 'restic') {
        const s = readJsonLines(`${base}.out`).find((x) => (x as { message_type?: string }).message_type === 'summary') as Record<string, number> | undefined;
        if (s) md.push(`- ${step} restic: files new=${s.files_new} changed=${s.files_changed} unmodified=${s.files_unmodified} data_added=${mib(s.data_added ?? null)} MiB (before compression) total_duration=${f1(s.total_duration, 2)} s`);
      } else if (tool === 'borg') {
        const j = readJsonDoc(`${base}.out`);
        const archive = j?.archive as { stats?: Record<string, number>; duration?: number } | undefined;
        const st = archive?.stats;
        if (st) md.push(`- ${step} borg: nfiles=${st.nfiles} original=${mib(st.original_size ?? null)} MiB compressed=${mib(st.compressed_size ?? null)} MiB deduplicated=${mib(st.deduplicated_size ?? null)} MiB duration=${f1(archive?.duration, 2)} s`);
      }
    }
  }
  const restored = path.join(logs, 'restored.txt');
  if (fs.existsSync(restored)) for (const line of fs.readFileSync(restored, 'utf8').trim().split('\n')) md.push(`- restore ${line}`);
  md.push('');
  fs.writeFileSync(out, `${md.join('\n')}\n`);
  process.stdout.write(`${md.join('\n')}\n`);
  process.stderr.write(`report written to ${out}\n`);
}

main();
